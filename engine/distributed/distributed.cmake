# Data-parallel training needs LibTorch's c10d with Gloo: its headers (in the LibTorch include
# directories) and Gloo's own (Debian: libgloo-dev). Without them the engine still builds and
# `srigl train --distributed` explains what is missing.
option(SRIGL_DISTRIBUTED "Data-parallel training over c10d/Gloo when LibTorch has it" ON)
set(SRIGL_HAVE_C10D OFF)
if(SRIGL_DISTRIBUTED)
  find_path(SRIGL_C10D_INCLUDE_DIR torch/csrc/distributed/c10d/ProcessGroupGloo.hpp HINTS ${TORCH_INCLUDE_DIRS})
  find_path(SRIGL_GLOO_INCLUDE_DIR gloo/algorithm.h HINTS ${TORCH_INCLUDE_DIRS})
  find_library(SRIGL_GLOO_LIBRARY gloo)
  if(SRIGL_C10D_INCLUDE_DIR AND SRIGL_GLOO_INCLUDE_DIR)
    set(SRIGL_HAVE_C10D ON)
  endif()
endif()
message(STATUS "Distributed training (c10d/Gloo): ${SRIGL_HAVE_C10D}")
if(SRIGL_HAVE_C10D)
  # Only the one file that includes c10d sees the definition, and it skips the precompiled header
  # (USE_C10D_GLOO changes what the c10d headers declare).
  set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/gloo_process_group.cpp PROPERTIES
    COMPILE_DEFINITIONS "SRIGL_HAVE_C10D;USE_C10D_GLOO" SKIP_PRECOMPILE_HEADERS ON)
  target_include_directories(srigl_engine PRIVATE ${SRIGL_C10D_INCLUDE_DIR} ${SRIGL_GLOO_INCLUDE_DIR})
  if(SRIGL_GLOO_LIBRARY)
    target_link_libraries(srigl_engine PRIVATE ${SRIGL_GLOO_LIBRARY})
  endif()
endif()

# Data-parallel training on GPUs needs LibTorch's NCCL process group: a CUDA build of LibTorch (its
# libtorch_cuda holds ProcessGroupNCCL and already links libnccl), the c10d header, the CUDA headers
# it includes, and NCCL's own nccl.h (for the Python wheel: the pip package nvidia-nccl-cu13, whose
# folder site-packages/nvidia/nccl sits next to site-packages/torch). Without them
# nccl_process_group.cpp compiles to a stub and `srigl train --distributed --set device=cuda` says
# what is missing.
option(SRIGL_NCCL "Data-parallel training on GPUs over c10d/NCCL when LibTorch has it" ON)
set(SRIGL_NCCL_ROOT "" CACHE PATH "NCCL's folder (include/nccl.h, lib/libnccl.so*); also NCCL_ROOT and Python's nvidia.nccl")
option(SRIGL_NCCL_LINK "Also link the libnccl found (libtorch_cuda links NCCL already)" OFF)
set(SRIGL_HAVE_NCCL OFF)
set(srigl_nccl_missing "")
set(srigl_nccl_source ${CMAKE_CURRENT_LIST_DIR}/nccl_process_group.cpp)
if(NOT SRIGL_NCCL)
  set(srigl_nccl_missing "switched off at configure time (SRIGL_NCCL=OFF)")
elseif(NOT TARGET torch_cuda AND NOT TORCH_CUDA_LIBRARIES)
  set(srigl_nccl_missing "LibTorch is not a CUDA build")
else()
  find_path(SRIGL_NCCL_C10D_INCLUDE_DIR torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp
            HINTS ${TORCH_INCLUDE_DIRS} NO_DEFAULT_PATH)
  # Where nccl.h may be, most specific first: what the caller names, then the pip package beside
  # the wheel's torch, then the one the Python interpreter imports, then CUDA's and the system's.
  set(srigl_nccl_roots ${SRIGL_NCCL_ROOT} $ENV{NCCL_ROOT} $ENV{NCCL_HOME} $ENV{NCCL_DIR})
  if(TORCH_INSTALL_PREFIX)
    get_filename_component(srigl_site_packages "${TORCH_INSTALL_PREFIX}/.." ABSOLUTE)
    list(APPEND srigl_nccl_roots ${srigl_site_packages}/nvidia/nccl)
  endif()
  if(Python3_EXECUTABLE)
    set(SRIGL_NCCL_PYTHON ${Python3_EXECUTABLE})
  else()
    find_program(SRIGL_NCCL_PYTHON NAMES python3 python)
  endif()
  if(SRIGL_NCCL_PYTHON)
    # nvidia.nccl is a namespace package in some wheels (no __file__): its __path__ then. Any
    # failure (no such package, no Python) only drops this hint.
    execute_process(
      COMMAND ${SRIGL_NCCL_PYTHON} -c "import os, nvidia.nccl as m; f = getattr(m, '__file__', None); print(os.path.dirname(f) if f else list(m.__path__)[0])"
      RESULT_VARIABLE srigl_py_rc OUTPUT_VARIABLE srigl_py_nccl ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE TIMEOUT 60)
    if(srigl_py_rc EQUAL 0 AND IS_DIRECTORY "${srigl_py_nccl}")
      list(APPEND srigl_nccl_roots ${srigl_py_nccl})
    endif()
  endif()
  list(APPEND srigl_nccl_roots ${CUDAToolkit_LIBRARY_ROOT} $ENV{CUDA_HOME} /usr/local/cuda)
  find_path(SRIGL_NCCL_INCLUDE_DIR nccl.h HINTS ${srigl_nccl_roots} PATH_SUFFIXES include)
  # The pip package ships only libnccl.so.2 (no libnccl.so link).
  find_library(SRIGL_NCCL_LIBRARY NAMES nccl libnccl.so.2 HINTS ${srigl_nccl_roots} PATH_SUFFIXES lib lib64)
  # ProcessGroupNCCL.hpp includes ATen's CUDA headers, which include the CUDA runtime's, cuBLAS's,
  # cuSPARSE's and cuSOLVER's: a toolkit keeps them in one folder, CUDA's pip packages in several.
  set(srigl_cuda_hints ${CUDAToolkit_INCLUDE_DIRS} ${CUDA_INCLUDE_DIRS} $ENV{CUDA_HOME}/include /usr/local/cuda/include)
  if(srigl_site_packages)
    file(GLOB srigl_pip_cuda_includes LIST_DIRECTORIES true ${srigl_site_packages}/nvidia/*/include)
    list(APPEND srigl_cuda_hints ${srigl_pip_cuda_includes})
  endif()
  set(srigl_nccl_includes ${SRIGL_NCCL_C10D_INCLUDE_DIR} ${SRIGL_NCCL_INCLUDE_DIR})
  foreach(header cuda_runtime_api.h cublas_v2.h cusparse.h cusolverDn.h)
    string(MAKE_C_IDENTIFIER "SRIGL_NCCL_${header}_DIR" var)
    find_path(${var} ${header} HINTS ${srigl_cuda_hints})
    if(${var})
      list(APPEND srigl_nccl_includes ${${var}})
    endif()
  endforeach()
  list(REMOVE_DUPLICATES srigl_nccl_includes)
  # -I/usr/include would reorder the compiler's own folders (libstdc++'s #include_next breaks).
  if(CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
    list(REMOVE_ITEM srigl_nccl_includes ${CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES})
  endif()
  if(NOT SRIGL_NCCL_C10D_INCLUDE_DIR)
    set(srigl_nccl_missing "torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp is not among LibTorch's headers")
  elseif(NOT SRIGL_NCCL_INCLUDE_DIR)
    set(srigl_nccl_missing "nccl.h was not found (pip install nvidia-nccl-cu13, or pass -DSRIGL_NCCL_ROOT=DIR)")
  elseif(NOT SRIGL_NCCL_cuda_runtime_api_h_DIR)
    set(srigl_nccl_missing "the CUDA headers (cuda_runtime_api.h) were not found")
  else()
    set(SRIGL_HAVE_NCCL ON)
  endif()
endif()
if(SRIGL_HAVE_NCCL)
  message(STATUS "Distributed training (c10d/NCCL): ON (nccl.h in ${SRIGL_NCCL_INCLUDE_DIR})")
  # Only the one file that includes ProcessGroupNCCL.hpp sees NCCL and the CUDA headers; it skips the
  # precompiled header (USE_C10D_NCCL changes what the c10d headers declare). A build whose
  # LibTorch's c10d does not compile with it: -DSRIGL_NCCL=OFF (scripts/build_cuda.sh retries so).
  set_source_files_properties(${srigl_nccl_source} PROPERTIES
    COMPILE_DEFINITIONS "SRIGL_HAVE_NCCL;USE_C10D_NCCL" SKIP_PRECOMPILE_HEADERS ON
    INCLUDE_DIRECTORIES "${srigl_nccl_includes}")
  if(SRIGL_NCCL_LINK AND SRIGL_NCCL_LIBRARY)
    target_link_libraries(srigl_engine PRIVATE ${SRIGL_NCCL_LIBRARY})
  endif()
else()
  message(STATUS "Distributed training (c10d/NCCL): OFF (${srigl_nccl_missing})")
  # The stub says why in `srigl train --distributed --set device=cuda`.
  set_source_files_properties(${srigl_nccl_source} PROPERTIES
    COMPILE_DEFINITIONS "SRIGL_NCCL_MISSING=\"${srigl_nccl_missing}\"")
endif()
