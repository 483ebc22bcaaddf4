# Proves the engine's layering (README.md, "Layout"): its folders form a stack, and a file may include
# engine headers from its own folder and the folders below only.
# Run: cmake -DSOURCE_DIR=... -P check_layering.cmake
cmake_policy(SET CMP0057 NEW)
include(${CMAKE_CURRENT_LIST_DIR}/../support/include_scan.cmake)
# Lowest first. A folder missing from this list fails the check, so a new folder has to take a place.
set(order runtime kernels nm analysis data config archive sparsity models distributed training inference conversion interop)

subfolders(${SOURCE_DIR}/engine folders)
foreach(folder IN LISTS folders)
  if(NOT folder IN_LIST order)
    message(FATAL_ERROR "engine/${folder} has no place in the layering list of ${CMAKE_CURRENT_LIST_FILE}")
  endif()
endforeach()

set(violations "")
set(checked 0)
foreach(folder IN LISTS order)
  list(FIND order ${folder} level)
  file(GLOB_RECURSE sources ${SOURCE_DIR}/engine/${folder}/*.cpp ${SOURCE_DIR}/engine/${folder}/*.hpp)
  foreach(source IN LISTS sources)
    math(EXPR checked "${checked} + 1")
    folder_includes(${source} engine includes targets)
    foreach(line target IN ZIP_LISTS includes targets)
      list(FIND order ${target} targetLevel)
      if(targetLevel GREATER level)
        file(RELATIVE_PATH where ${SOURCE_DIR} ${source})
        string(APPEND violations "\n  ${where}: ${line} (${folder} may not include ${target})")
      endif()
    endforeach()
  endforeach()
endforeach()
finish_include_scan("${violations}" "engine includes that run upward:" ${checked}
                    "only ${checked} engine files found under ${SOURCE_DIR}/engine"
                    "checked the includes of ${checked} engine files")
