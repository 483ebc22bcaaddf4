# The CUDA kernels of condensed layers (engine/kernels/cuda), included from engine/CMakeLists.txt after
# srigl_engine exists. The caller decides SRIGL_HAVE_CUDA, runs find_package(CUDAToolkit) and sets
# CMAKE_CUDA_ARCHITECTURES (default 90) first. Without CUDA, cuda_absent.cpp provides the same API,
# every entry point throwing.
set(SRIGL_CUDA_DIR ${CMAKE_CURRENT_LIST_DIR})
if(SRIGL_HAVE_CUDA)
  get_property(srigl_languages GLOBAL PROPERTY ENABLED_LANGUAGES)
  if(NOT "CUDA" IN_LIST srigl_languages)
    enable_language(CUDA)
  endif()
  find_package(CUDAToolkit QUIET REQUIRED)
  set(SRIGL_CUDA_SOURCES
    ${SRIGL_CUDA_DIR}/condensed_forward.cu
    ${SRIGL_CUDA_DIR}/condensed_backward.cu
    ${SRIGL_CUDA_DIR}/cuda_support.cu)
  # The .cu files compile in an object library of their own, then join srigl_engine: the engine's
  # warning flags (srigl_warnings: -Wall ...) are not nvcc options, and the kernels need neither the
  # Torch precompiled header nor Torch's include paths.
  add_library(srigl_engine_cuda OBJECT ${SRIGL_CUDA_SOURCES})
  set_source_files_properties(${SRIGL_CUDA_SOURCES} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
  set_target_properties(srigl_engine_cuda PROPERTIES CUDA_SEPARABLE_COMPILATION OFF POSITION_INDEPENDENT_CODE ON)
  if(NOT DEFINED CMAKE_CUDA_STANDARD)
    set_target_properties(srigl_engine_cuda PROPERTIES CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON)
  endif()
  target_include_directories(srigl_engine_cuda PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(srigl_engine_cuda PRIVATE CUDA::cudart)
  target_compile_options(srigl_engine_cuda PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra,-Wno-unused-parameter>)
  # The API passes std::string: the host side must use the same libstdc++ ABI as Torch and the engine.
  if(TORCH_CXX_FLAGS MATCHES "_GLIBCXX_USE_CXX11_ABI=([01])")
    target_compile_definitions(srigl_engine_cuda PRIVATE _GLIBCXX_USE_CXX11_ABI=${CMAKE_MATCH_1})
  endif()
  target_sources(srigl_engine PRIVATE $<TARGET_OBJECTS:srigl_engine_cuda>)
  set_target_properties(srigl_engine PROPERTIES CUDA_SEPARABLE_COMPILATION OFF)
  target_compile_definitions(srigl_engine PUBLIC SRIGL_HAVE_CUDA)
  target_link_libraries(srigl_engine PUBLIC CUDA::cudart)
  # The engine's source glob picks up every .cpp, this one too: keep it out of a CUDA build.
  set_source_files_properties(${SRIGL_CUDA_DIR}/cuda_absent.cpp PROPERTIES HEADER_FILE_ONLY ON)
else()
  get_target_property(srigl_engine_sources srigl_engine SOURCES)
  if(NOT "${SRIGL_CUDA_DIR}/cuda_absent.cpp" IN_LIST srigl_engine_sources)
    target_sources(srigl_engine PRIVATE ${SRIGL_CUDA_DIR}/cuda_absent.cpp)
  endif()
endif()
