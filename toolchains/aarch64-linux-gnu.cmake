# Cross build for 64-bit ARM (Debian arm64) with Debian 12's
# gcc-aarch64-linux-gnu; see debian-cross.cmake for the details.
#   tools/deps.sh --cross && tools/sysroot.sh arm64
#   cmake -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=toolchains/aarch64-linux-gnu.cmake \
#         -DWEFT_MBEDTLS_PREFIX=$PWD/.deps/mbedtls-3.6-arm64
set(WEFT_CROSS_TRIPLET aarch64-linux-gnu)
set(WEFT_CROSS_DEBARCH arm64)
set(WEFT_CROSS_PROCESSOR aarch64)
set(WEFT_CROSS_QEMU qemu-aarch64-static)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
