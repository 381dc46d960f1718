# Shared part of toolchains/<triplet>.cmake: Debian 12's cross gcc, the
# sysroot of tools/sysroot.sh for the libraries, qemu-user to run tests.
#
# The including file sets WEFT_CROSS_TRIPLET (aarch64-linux-gnu), _DEBARCH
# (arm64), _PROCESSOR (aarch64) and _QEMU (qemu-aarch64-static).
#
# Two roots, on purpose, and no CMAKE_SYSROOT:
#   /usr/<triplet>   glibc, crt files, libgcc: Debian's libc6-dev-*-cross,
#                    which the cross gcc already finds by itself;
#   WEFT_SYSROOT     libevent, inih, SQLite, cmocka (.deps/sysroot-<arch>).
# CMAKE_SYSROOT would pass --sysroot to gcc and hide /usr/<triplet>.
#
# Use: cmake -DCMAKE_TOOLCHAIN_FILE=toolchains/aarch64-linux-gnu.cmake
#            [-DWEFT_SYSROOT=...] -DWEFT_MBEDTLS_PREFIX=$PWD/.deps/mbedtls-3.6-arm64
# after tools/deps.sh --cross and tools/sysroot.sh arm64.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${WEFT_CROSS_PROCESSOR})
set(CMAKE_C_COMPILER ${WEFT_CROSS_TRIPLET}-gcc)
# Debian's multiarch directory name: find_library/find_path then also look
# in <root>/usr/lib/<triplet> and <root>/usr/include/<triplet>, and
# cmake/Deps.cmake adds <include>/<triplet> (event2/event-config.h lives
# there) to the libevent include path.
set(CMAKE_LIBRARY_ARCHITECTURE ${WEFT_CROSS_TRIPLET})

# The sysroot: -DWEFT_SYSROOT=... or <repo>/.deps/sysroot-<arch>. Cached so
# the top-level CMakeLists (which declares the same cache entry, empty by
# default) keeps it, and forwarded to try_compile projects, which read this
# file again.
get_filename_component(_weft_repo "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
if(NOT WEFT_SYSROOT)
  set(WEFT_SYSROOT "${_weft_repo}/.deps/sysroot-${WEFT_CROSS_DEBARCH}"
      CACHE PATH "Cross builds: the sysroot filled by tools/sysroot.sh" FORCE)
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES WEFT_SYSROOT)
if(NOT EXISTS "${WEFT_SYSROOT}/usr/include")
  message(FATAL_ERROR "WEFT_SYSROOT=${WEFT_SYSROOT} is empty: run tools/sysroot.sh ${WEFT_CROSS_DEBARCH}")
endif()

set(CMAKE_FIND_ROOT_PATH "${WEFT_SYSROOT}" /usr/${WEFT_CROSS_TRIPLET})
# Libraries, headers and CMake packages only from the roots above; programs
# (git, bash, qemu, python3) always from the build machine.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# For anyone using pkg-config (Deps.cmake does not): the target's .pc files,
# with their -I/usr/include rewritten into the sysroot.
set(ENV{PKG_CONFIG_LIBDIR}
    "${WEFT_SYSROOT}/usr/lib/${WEFT_CROSS_TRIPLET}/pkgconfig:${WEFT_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${WEFT_SYSROOT}")

# Running target binaries (ctest, add_test): qemu-user with -L /usr/<triplet>,
# so the ELF interpreter (ld-linux-*.so) and glibc come from the cross libc.
# Libraries from the sysroot (libcmocka.so.0: the unit tests link it
# dynamically, Debian ships no libcmocka.a) are found through the RPATH
# instead: the test executables carry the absolute sysroot lib dir as their
# build-tree RPATH (CMake adds it for libraries linked by full path; it is
# also set explicitly below). qemu's -L only prepends its prefix to a path
# when <prefix>/<path> exists and otherwise uses the path as is, so that
# absolute host path resolves. This needs no environment variables
# (QEMU_LD_PREFIX/LD_LIBRARY_PATH would have to be set around every ctest
# run) and `qemu-*-static -L /usr/<triplet> build-*/tests/.../test_x` works
# by hand too. The static weft binary itself needs neither.
find_program(WEFT_CROSS_EMULATOR NAMES ${WEFT_CROSS_QEMU} NO_CMAKE_FIND_ROOT_PATH)
if(NOT WEFT_CROSS_EMULATOR)
  message(WARNING "${WEFT_CROSS_QEMU} not found (tools/deps.sh --cross): tests cannot run")
  set(WEFT_CROSS_EMULATOR ${WEFT_CROSS_QEMU})
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR "${WEFT_CROSS_EMULATOR};-L;/usr/${WEFT_CROSS_TRIPLET}")
set(CMAKE_BUILD_RPATH "${WEFT_SYSROOT}/usr/lib/${WEFT_CROSS_TRIPLET}")
