# Cross build for 32-bit ARMv7 hard-float (Debian armhf) with Debian 12's
# gcc-arm-linux-gnueabihf; see debian-cross.cmake for the details.
#   tools/deps.sh --cross && tools/sysroot.sh armhf
#   cmake -B build-armhf -DCMAKE_TOOLCHAIN_FILE=toolchains/arm-linux-gnueabihf.cmake \
#         -DWEFT_MBEDTLS_PREFIX=$PWD/.deps/mbedtls-3.6-armhf
# armhf keeps Debian 12's 32-bit time_t; tools/sysroot.sh builds mbedTLS 3.6
# to match (trixie's armhf binaries use 64-bit time_t).
set(WEFT_CROSS_TRIPLET arm-linux-gnueabihf)
set(WEFT_CROSS_DEBARCH armhf)
set(WEFT_CROSS_PROCESSOR armv7l)
set(WEFT_CROSS_QEMU qemu-arm-static)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)

# Large-file off_t everywhere: Debian 12's armhf event2/event-config.h itself
# does `#define _FILE_OFFSET_BITS 64`, so without this, weft files that
# include a libevent header before <sys/types.h> would get a 64-bit off_t and
# the others a 32-bit one. SQLite's amalgamation uses LFS too, and no API of
# mbedTLS, inih or cmocka has an off_t. time_t stays 32-bit (see above).
set(CMAKE_C_FLAGS_INIT "-D_FILE_OFFSET_BITS=64")
