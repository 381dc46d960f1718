# weft_add_unit_test(NAME SOURCES src... LIBS lib...)
#   One cmocka executable per module, registered with ctest under label "unit".
#   Cross builds run it through CMAKE_CROSSCOMPILING_EMULATOR (qemu-user).
function(weft_add_unit_test name)
  cmake_parse_arguments(A "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  weft_target_warnings(${name})
  target_compile_definitions(${name} PRIVATE WEFT_TESTING=1)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}
                                             ${CMAKE_SOURCE_DIR}/tests)
  target_link_libraries(${name} PRIVATE ${A_LIBS} weft::cmocka)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 120
                       ENVIRONMENT "WEFT_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endfunction()

# weft_add_script_test(NAME SCRIPT [LABELS ...]): an integration script that
# starts the real weft binary (path in $WEFT). Not run in cross builds.
function(weft_add_script_test name script)
  cmake_parse_arguments(A "" "TIMEOUT" "LABELS" ${ARGN})
  if(NOT A_LABELS)
    set(A_LABELS integration)
  endif()
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  add_test(NAME ${name} COMMAND bash ${script})
  set_tests_properties(${name} PROPERTIES LABELS "${A_LABELS}" TIMEOUT ${A_TIMEOUT}
    ENVIRONMENT "WEFT=$<TARGET_FILE:weft>;WEFT_SOURCE_DIR=${CMAKE_SOURCE_DIR};WEFT_BUILD_DIR=${CMAKE_BINARY_DIR}")
endfunction()
