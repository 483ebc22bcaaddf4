# ccache in front of the compiler: Torch headers are heavy and the machines have 2 cores.
# The sloppiness settings let ccache hit on translation units that use a precompiled header;
# CCACHE_BASEDIR makes paths relative so that several build folders of one checkout share hits.
find_program(SRIGL_CCACHE ccache)
if(SRIGL_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env
      CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      CCACHE_BASEDIR=${PROJECT_SOURCE_DIR}
      ${SRIGL_CCACHE})
  message(STATUS "Using ccache: ${SRIGL_CCACHE}")
endif()
