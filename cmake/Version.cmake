# The git revision baked into `weft version`; "unknown" outside a checkout.
find_package(Git QUIET)
set(WEFT_GIT_REVISION "unknown")
if(GIT_FOUND AND EXISTS ${CMAKE_SOURCE_DIR}/.git)
  execute_process(COMMAND ${GIT_EXECUTABLE} -C ${CMAKE_SOURCE_DIR} rev-parse --short=12 HEAD
                  OUTPUT_VARIABLE WEFT_GIT_REVISION OUTPUT_STRIP_TRAILING_WHITESPACE
                  ERROR_QUIET RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0 OR WEFT_GIT_REVISION STREQUAL "")
    set(WEFT_GIT_REVISION "unknown")
  endif()
endif()
