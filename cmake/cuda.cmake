# Our CUDA kernels (engine/kernels/cuda) are built when LibTorch is a CUDA build (the torch_cuda target exists)
# and a CUDA compiler is found; the CPU build never needs CUDA.
#   SRIGL_CUDA=AUTO  that rule (default);
#   SRIGL_CUDA=ON    also with a CPU LibTorch, to check on a machine without a GPU that the kernels
#                    compile and link (nothing can run them there);
#   SRIGL_CUDA=OFF   never.
set(SRIGL_CUDA AUTO CACHE STRING "Build the CUDA kernels: AUTO, ON or OFF")
set_property(CACHE SRIGL_CUDA PROPERTY STRINGS AUTO ON OFF)
set(SRIGL_HAVE_CUDA OFF)
set(SRIGL_TORCH_CUDA OFF)
if(TARGET torch_cuda)
  set(SRIGL_TORCH_CUDA ON)
endif()
if(SRIGL_CUDA STREQUAL "ON" OR (SRIGL_CUDA STREQUAL "AUTO" AND SRIGL_TORCH_CUDA))
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90) # Hopper (H100, H200); scripts/build_cuda.sh asks the GPU
    endif()
    if(NOT DEFINED CMAKE_CUDA_STANDARD)
      set(CMAKE_CUDA_STANDARD ${CMAKE_CXX_STANDARD})
    endif()
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    # The kernels' host code passes std::string across the API: the same libstdc++ ABI as Torch's.
    string(REGEX MATCH "-D_GLIBCXX_USE_CXX11_ABI=[01]" srigl_abi "${TORCH_CXX_FLAGS}")
    if(srigl_abi)
      set(CMAKE_CUDA_FLAGS "${CMAKE_CUDA_FLAGS} ${srigl_abi}")
    endif()
    set(SRIGL_HAVE_CUDA ON)
  elseif(SRIGL_CUDA STREQUAL "ON")
    message(FATAL_ERROR "SRIGL_CUDA=ON but no CUDA compiler was found (put nvcc on the PATH)")
  endif()
endif()
message(STATUS "CUDA kernels: ${SRIGL_HAVE_CUDA} (LibTorch with CUDA: ${SRIGL_TORCH_CUDA})")
