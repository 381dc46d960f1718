# Dependencies, all from Debian's packages (tools/deps.sh installs them):
#   libevent 2.1 (core + extra for evhttp), inih, SQLite, mbedTLS, msgpack-c
#   (gossip/ only: memberlist's wire format; libmsgpack-dev 4.0 ships the C
#   library as libmsgpackc), llhttp (http/ only; built from Debian's
#   node-llhttp sources, see below).
# Each becomes an INTERFACE target weft::<name> with SYSTEM includes.
#
# WEFT_STATIC prefers the .a archives. WEFT_MBEDTLS_PREFIX points at an
# unpacked libmbedtls-dev (Debian 13's 3.6): only its static archives are
# there, so it is always linked statically. WEFT_SYSROOT (cross builds) is an
# extra root filled by tools/sysroot.sh; the toolchain file adds it to
# CMAKE_FIND_ROOT_PATH (toolchains/debian-cross.cmake).
#
# Besides the weft::* targets this sets WEFT_INIH_VERSION and
# WEFT_MBEDTLS_VERSION (e.g. "3.6.6", read from the headers found).

if(CMAKE_LIBRARY_ARCHITECTURE)
  set(WEFT_MULTIARCH ${CMAKE_LIBRARY_ARCHITECTURE})
else()
  set(WEFT_MULTIARCH "")
endif()

# weft_find_dep(TARGET HEADER LIBS... [STATIC_ONLY] [ROOT dir])
function(weft_find_dep target header)
  cmake_parse_arguments(A "STATIC_ONLY" "ROOT" "LIBS" ${ARGN})
  # find_path/find_library results are cached: forget them when the root or
  # the static choice changed since the last configure of this build dir,
  # or a reconfigure with another WEFT_MBEDTLS_PREFIX keeps the old library.
  set(_key "${A_ROOT}|${WEFT_STATIC}|${A_STATIC_ONLY}")
  if(DEFINED ${target}_FOUND_WITH AND NOT "${${target}_FOUND_WITH}" STREQUAL "${_key}")
    unset(${target}_INCLUDE CACHE)
    foreach(lib ${A_LIBS})
      unset(${target}_${lib}_LIB CACHE)
    endforeach()
  endif()
  set(${target}_FOUND_WITH "${_key}" CACHE INTERNAL "weft_find_dep inputs of ${target}")
  if(A_ROOT)
    set(_hint "WEFT_MBEDTLS_PREFIX=${A_ROOT} is incomplete; run tools/deps.sh (or tools/sysroot.sh ARCH for cross builds)")
  elseif(CMAKE_CROSSCOMPILING AND WEFT_CROSS_DEBARCH)
    set(_hint "run tools/sysroot.sh ${WEFT_CROSS_DEBARCH} (sysroot ${WEFT_SYSROOT})")
  else()
    set(_hint "run tools/deps.sh")
  endif()
  set(_hints_inc "")
  set(_hints_lib "")
  set(_mode "")
  if(A_ROOT)
    set(_hints_inc ${A_ROOT}/usr/include ${A_ROOT}/usr/include/${WEFT_MULTIARCH})
    set(_hints_lib ${A_ROOT}/usr/lib/${WEFT_MULTIARCH} ${A_ROOT}/usr/lib)
    set(_mode NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH)
  endif()
  find_path(${target}_INCLUDE ${header} HINTS ${_hints_inc} ${_mode})
  if(NOT ${target}_INCLUDE)
    message(FATAL_ERROR "${target}: ${header} not found; ${_hint}")
  endif()
  set(_libs "")
  foreach(lib ${A_LIBS})
    set(_names ${lib})
    if(WEFT_STATIC OR A_STATIC_ONLY)
      set(_names lib${lib}.a ${lib})
    endif()
    if(A_STATIC_ONLY)
      set(_names lib${lib}.a)
    endif()
    find_library(${target}_${lib}_LIB NAMES ${_names} HINTS ${_hints_lib} ${_mode})
    if(NOT ${target}_${lib}_LIB)
      message(FATAL_ERROR "${target}: library ${lib} not found; ${_hint}")
    endif()
    list(APPEND _libs ${${target}_${lib}_LIB})
  endforeach()
  add_library(weft_dep_${target} INTERFACE)
  add_library(weft::${target} ALIAS weft_dep_${target})
  # event-config.h and friends live under the multiarch include dir on Debian.
  set(_incs ${${target}_INCLUDE})
  if(WEFT_MULTIARCH AND EXISTS ${${target}_INCLUDE}/${WEFT_MULTIARCH})
    list(APPEND _incs ${${target}_INCLUDE}/${WEFT_MULTIARCH})
  endif()
  target_include_directories(weft_dep_${target} SYSTEM INTERFACE ${_incs})
  target_link_libraries(weft_dep_${target} INTERFACE ${_libs})
  message(STATUS "weft: ${target}: ${_libs}")
endfunction()

find_package(Threads REQUIRED)

weft_find_dep(libevent event2/event.h LIBS event_extra event_core)
weft_find_dep(inih ini.h LIBS inih)
weft_find_dep(sqlite3 sqlite3.h LIBS sqlite3)
target_link_libraries(weft_dep_sqlite3 INTERFACE Threads::Threads ${CMAKE_DL_LIBS} m)
weft_find_dep(msgpack msgpack.h LIBS msgpackc)

if(WEFT_MBEDTLS_PREFIX)
  weft_find_dep(mbedtls mbedtls/ssl.h LIBS mbedtls mbedx509 mbedcrypto
                STATIC_ONLY ROOT ${WEFT_MBEDTLS_PREFIX})
else()
  weft_find_dep(mbedtls mbedtls/ssl.h LIBS mbedtls mbedx509 mbedcrypto)
endif()
target_link_libraries(weft_dep_mbedtls INTERFACE Threads::Threads)

# Which mbedTLS this build uses: 3.x keeps the version in build_info.h,
# 2.28 in version.h. Printed, and available to the build as a variable.
set(WEFT_MBEDTLS_VERSION "unknown")
foreach(_h build_info.h version.h)
  if(WEFT_MBEDTLS_VERSION STREQUAL "unknown" AND EXISTS ${mbedtls_INCLUDE}/mbedtls/${_h})
    file(STRINGS ${mbedtls_INCLUDE}/mbedtls/${_h} _v REGEX "^#define +MBEDTLS_VERSION_STRING +\"")
    if(_v MATCHES "\"([0-9.]+)\"")
      set(WEFT_MBEDTLS_VERSION ${CMAKE_MATCH_1})
    endif()
  endif()
endforeach()
message(STATUS "weft: mbedTLS ${WEFT_MBEDTLS_VERSION} from ${mbedtls_INCLUDE}")

# 32-bit targets: weft and mbedTLS must agree on sizeof(time_t), which is in
# mbedtls_ssl_session, mbedtls_ssl_ticket_key, mbedtls_ssl_cache_entry and
# passed by value to mbedtls_x509_time_gmtime(). Debian 13's armhf archives
# use a 64-bit time_t (their objects call __time64, __gmtime64_r ...) while
# Debian 12 and its libevent use a 32-bit one; tools/sysroot.sh armhf builds
# 3.6 with Debian 12's ABI for that reason. Refuse a mismatched prefix here
# rather than debug memory corruption on a gateway.
if(CMAKE_SIZEOF_VOID_P EQUAL 4)
  include(CheckTypeSize)
  set(CMAKE_EXTRA_INCLUDE_FILES time.h)
  check_type_size(time_t WEFT_SIZEOF_TIME_T)
  unset(CMAKE_EXTRA_INCLUDE_FILES)
  foreach(_lib ${mbedtls_mbedcrypto_LIB} ${mbedtls_mbedtls_LIB})
    file(STRINGS ${_lib} _t64 REGEX "__(time64|gmtime64_r|clock_gettime64)" LIMIT_COUNT 1)
    if(_t64 AND WEFT_SIZEOF_TIME_T EQUAL 4)
      message(FATAL_ERROR
        "${_lib} was built with a 64-bit time_t, this build has a 32-bit one: "
        "mbedTLS structures would not match. Use the prefix of tools/sysroot.sh "
        "(built for Debian 12's ABI), or build everything with -D_TIME_BITS=64.")
    endif()
  endforeach()
endif()

if(WEFT_TESTS)
  weft_find_dep(cmocka cmocka.h LIBS cmocka)
endif()

# llhttp (http/ only): Debian 12 ships it as C sources, not as a library:
# node-llhttp (arch: all) puts llhttp.c, api.c and http.c in
# /usr/share/llhttp and llhttp.h in /usr/share/include/llhttp. We compile
# them into weft_llhttp, a third-party static library: our warnings and
# -Werror stay off for it, the sanitizers still apply. The sources are
# arch-independent, so the cross builds compile the host's copy for the
# target (no sysroot package). LLHTTP_STRICT_MODE=1 is set for the library
# and for everyone who includes the header; no lenient flag is ever set
# (src/http/http_parse.c does the refusals llhttp 8.1.0 still lets through).
set(WEFT_LLHTTP_DIR "/usr/share" CACHE PATH
    "Where node-llhttp put llhttp's C sources (<dir>/llhttp/*.c, <dir>/include/llhttp/llhttp.h)")
set(_llhttp_src ${WEFT_LLHTTP_DIR}/llhttp/llhttp.c ${WEFT_LLHTTP_DIR}/llhttp/api.c
                ${WEFT_LLHTTP_DIR}/llhttp/http.c)
set(_llhttp_inc ${WEFT_LLHTTP_DIR}/include/llhttp)
foreach(_f ${_llhttp_src} ${_llhttp_inc}/llhttp.h)
  if(NOT EXISTS ${_f})
    message(FATAL_ERROR "llhttp: ${_f} not found; run tools/deps.sh (it installs Debian's "
                        "node-llhttp, llhttp's C sources) or set WEFT_LLHTTP_DIR")
  endif()
endforeach()
add_library(weft_llhttp STATIC ${_llhttp_src})
add_library(weft::llhttp ALIAS weft_llhttp)
target_include_directories(weft_llhttp SYSTEM PUBLIC ${_llhttp_inc})
target_compile_definitions(weft_llhttp PUBLIC LLHTTP_STRICT_MODE=1)
target_compile_options(weft_llhttp PRIVATE -w)
file(STRINGS ${_llhttp_inc}/llhttp.h _v REGEX "^#define LLHTTP_VERSION_(MAJOR|MINOR|PATCH) ")
string(REGEX REPLACE "[^;]*_MAJOR ([0-9]+);[^;]*_MINOR ([0-9]+);[^;]*_PATCH ([0-9]+)" "\\1.\\2.\\3"
       WEFT_LLHTTP_VERSION "${_v}")
message(STATUS "weft: llhttp ${WEFT_LLHTTP_VERSION} (sources from ${WEFT_LLHTTP_DIR}/llhttp, strict mode)")

# inih has no version call: read it from the pkg-config file beside the
# library we link (Debian ships inih.pc with "Version: 55").
set(WEFT_INIH_VERSION "unknown")
get_filename_component(_inih_dir ${inih_inih_LIB} DIRECTORY)
if(EXISTS ${_inih_dir}/pkgconfig/inih.pc)
  file(STRINGS ${_inih_dir}/pkgconfig/inih.pc _inih_ver REGEX "^Version:")
  string(REGEX REPLACE "^Version: *" "" WEFT_INIH_VERSION "${_inih_ver}")
endif()
