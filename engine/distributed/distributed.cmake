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
