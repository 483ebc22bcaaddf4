# Shared by the layout checks under tests/ (run with cmake -P): the folders of a tree, the includes of
# a source file that name one of them, and the end every check has. Each check keeps its own rules.

# Sets <out_var> to the names of the folders directly in <dir> (its files left out).
function(subfolders dir out_var)
  file(GLOB entries LIST_DIRECTORIES true RELATIVE ${dir} ${dir}/*)
  set(folders "")
  foreach(entry IN LISTS entries)
    if(IS_DIRECTORY ${dir}/${entry})
      list(APPEND folders ${entry})
    endif()
  endforeach()
  set(${out_var} "${folders}" PARENT_SCOPE)
endfunction()

# Sets <lines_var> to the lines of <source> that include "<top>/<folder>/...", and <folders_var> to
# the <folder> each one names, in the same order: walk them with foreach(line folder IN ZIP_LISTS ...).
function(folder_includes source top lines_var folders_var)
  file(STRINGS ${source} lines REGEX "^#include \"${top}/[a-z_]+/")
  set(folders "")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^#include \"${top}/([a-z_]+)/.*" "\\1" folder "${line}")
    list(APPEND folders ${folder})
  endforeach()
  set(${lines_var} "${lines}" PARENT_SCOPE)
  set(${folders_var} "${folders}" PARENT_SCOPE)
endfunction()

# Fails with <heading> followed by <problems> when there are any. Fails with <too_few> as well when
# fewer than 50 files were <checked>: a wrong SOURCE_DIR finds no file and so no problem either.
# Otherwise says <done>.
function(finish_include_scan problems heading checked too_few done)
  if(problems)
    message(FATAL_ERROR "${heading}${problems}")
  endif()
  if(checked LESS 50)
    message(FATAL_ERROR "${too_few}")
  endif()
  message(STATUS "${done}")
endfunction()
