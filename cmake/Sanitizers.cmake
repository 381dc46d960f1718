# WEFT_SANITIZE="address;undefined" instruments every weft target (and the
# test executables): CI runs the whole suite this way in the Debug build.
if(WEFT_SANITIZE)
  string(REPLACE ";" "," _weft_san "${WEFT_SANITIZE}")
  add_compile_options(-fsanitize=${_weft_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_weft_san})
endif()
