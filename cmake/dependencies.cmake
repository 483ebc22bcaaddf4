# The libraries the engine, the store and the CLI need, found so that the engine + CLI also build on
# a machine that lacks some of them and cannot install anything (the GPU machine: scripts/build_cuda.sh).
#
#   required: Torch; nlohmann/json and CLI11 (header-only); zlib; SQLite 3; zstd.
#     Each is taken from the system first (its CMake package, pkg-config or the usual paths), then
#     from SRIGL_DEPS_DIR (include/ and lib/), a bundle that scripts/pack_deps_bundle.sh copies
#     from a Debian machine's packages.
#   optional: OpenCV (core, imgproc, imgcodecs, videoio). Without it the built-in `synthetic` digits
#     and the picture/video output (`runs render`, srigl_render) are absent and say so;
#     `synthetic_cifar` and every file dataset still work. SRIGL_HAVE_OPENCV tells the code.
#
# Every library ends up behind one imported target name, whichever way it was found:
#   nlohmann_json::nlohmann_json, CLI11::CLI11, ZLIB::ZLIB, srigl::sqlite3, srigl::zstd.

set(SRIGL_DEPS_DIR "" CACHE PATH "Bundle of headers and static libraries to fall back on (scripts/pack_deps_bundle.sh)")
if(SRIGL_DEPS_DIR)
  list(APPEND CMAKE_PREFIX_PATH ${SRIGL_DEPS_DIR})
endif()

# A header-only library without its CMake package: an interface target over the header's folder.
function(srigl_header_only target header what)
  if(TARGET ${target})
    return()
  endif()
  find_path(SRIGL_${what}_INCLUDE_DIR ${header} HINTS ${SRIGL_DEPS_DIR}/include)
  if(NOT SRIGL_${what}_INCLUDE_DIR)
    message(FATAL_ERROR "${what} not found: install its Debian package or pass -DSRIGL_DEPS_DIR=<bundle> "
                        "(scripts/pack_deps_bundle.sh makes one)")
  endif()
  add_library(${target} INTERFACE IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${SRIGL_${what}_INCLUDE_DIR})
  message(STATUS "${what}: headers in ${SRIGL_${what}_INCLUDE_DIR}")
endfunction()

# A compiled library found by header and library name (the system's shared one, or the bundle's .a).
function(srigl_plain_library target header library what)
  if(TARGET ${target})
    return()
  endif()
  find_path(SRIGL_${what}_INCLUDE_DIR ${header} HINTS ${SRIGL_DEPS_DIR}/include)
  find_library(SRIGL_${what}_LIBRARY NAMES ${library} HINTS ${SRIGL_DEPS_DIR}/lib)
  if(NOT SRIGL_${what}_INCLUDE_DIR OR NOT SRIGL_${what}_LIBRARY)
    message(FATAL_ERROR "${what} not found: install its Debian -dev package or pass -DSRIGL_DEPS_DIR=<bundle>")
  endif()
  add_library(${target} INTERFACE IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${SRIGL_${what}_INCLUDE_DIR}
                                             INTERFACE_LINK_LIBRARIES "${SRIGL_${what}_LIBRARY};${ARGN}")
  message(STATUS "${what}: ${SRIGL_${what}_LIBRARY}")
endfunction()

find_package(Threads REQUIRED)

find_package(nlohmann_json 3 QUIET)
srigl_header_only(nlohmann_json::nlohmann_json nlohmann/json.hpp NLOHMANN_JSON)
find_package(CLI11 QUIET)
srigl_header_only(CLI11::CLI11 CLI/CLI.hpp CLI11)
find_package(ZLIB REQUIRED)
# The bundle's SQLite is a static library: it needs the math and dl symbols of the C library.
srigl_plain_library(srigl::sqlite3 sqlite3.h sqlite3 SQLITE3 Threads::Threads m ${CMAKE_DL_LIBS})
srigl_plain_library(srigl::zstd zstd.h zstd ZSTD)

set(SRIGL_HAVE_OPENCV OFF)
option(SRIGL_OPENCV "Use OpenCV when it is installed (synthetic digits, pictures and videos)" ON)
if(SRIGL_OPENCV)
  find_package(OpenCV QUIET COMPONENTS core imgproc imgcodecs videoio)
  if(OpenCV_FOUND)
    set(SRIGL_HAVE_OPENCV ON)
  endif()
endif()
message(STATUS "OpenCV (synthetic digits, pictures, videos): ${SRIGL_HAVE_OPENCV}")
