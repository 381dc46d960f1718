# Warnings for weft's own targets only: dependency headers come in as SYSTEM
# includes, so their warnings never break our -Werror build.
include(CheckCCompilerFlag)

set(WEFT_WARNING_FLAGS -Wall -Wextra -Werror)
foreach(flag -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
             -Wundef -Wwrite-strings -Wpointer-arith -Wvla -Wimplicit-fallthrough
             -Wno-unused-parameter)
  string(MAKE_C_IDENTIFIER "HAVE${flag}" _var)
  check_c_compiler_flag(${flag} ${_var})
  if(${_var})
    list(APPEND WEFT_WARNING_FLAGS ${flag})
  endif()
endforeach()

# weft_target_warnings(TARGET): apply the picky flags to one of our targets.
function(weft_target_warnings target)
  target_compile_options(${target} PRIVATE ${WEFT_WARNING_FLAGS})
  target_compile_definitions(${target} PRIVATE _GNU_SOURCE)
endfunction()
