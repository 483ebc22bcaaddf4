# srigl_avx512_emulated: the engine's AVX-512 kernel sources compiled against SIMDe's portable AVX-512
# (engine/kernels/avx512_intrinsics.hpp, SRIGL_AVX512_EMULATED) into srigl::kernels::detail::emulated,
# so that test_avx512_emulation runs them on CPUs without AVX-512 and checks them against the portable
# kernels. Its own small library: these files must see neither Qt nor Torch (both bring <immintrin.h>),
# and it needs no precompiled header. Needs libsimde-dev (scripts/setup.sh); skipped without it.
find_path(SRIGL_SIMDE_INCLUDE_DIR simde/x86/avx512.h)
if(NOT SRIGL_SIMDE_INCLUDE_DIR)
  message(STATUS "SIMDe not found (libsimde-dev): the emulated AVX-512 kernel tests are not built")
  return()
endif()

add_library(srigl_avx512_emulated STATIC
  ${PROJECT_SOURCE_DIR}/engine/kernels/condensed_kernels_avx512.cpp
  ${PROJECT_SOURCE_DIR}/engine/kernels/condensed_backward_avx512.cpp
  ${PROJECT_SOURCE_DIR}/engine/kernels/condensed_conv_avx512.cpp)
target_include_directories(srigl_avx512_emulated PRIVATE ${PROJECT_SOURCE_DIR})
target_include_directories(srigl_avx512_emulated SYSTEM PRIVATE ${SRIGL_SIMDE_INCLUDE_DIR})
target_compile_definitions(srigl_avx512_emulated PRIVATE SRIGL_AVX512_EMULATED
  SRIGL_AVX512_EMULATION_SHIMS="${CMAKE_CURRENT_LIST_DIR}/simde_avx512_shims.hpp")
srigl_warnings(srigl_avx512_emulated)
# SIMDe passes 64-byte vectors by value without AVX-512, which GCC notes as an ABI change (harmless:
# these functions never cross into code built with other flags).
target_compile_options(srigl_avx512_emulated PRIVATE -Wno-psabi)

srigl_add_test_suite(${CMAKE_CURRENT_LIST_DIR}/test_avx512_emulation.cpp LABELS unit engine)
target_link_libraries(test_avx512_emulation PRIVATE srigl_avx512_emulated)
