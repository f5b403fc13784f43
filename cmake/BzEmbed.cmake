# cmake/BzEmbed.cmake - bz_embed_yaml(): a build step that compiles every DIR/*.yaml into a C
# file of byte arrays (scripts/embed_schema.cmake), so the binaries carry the standard tables,
# workflows and settings and work from any directory.
#
#   bz_embed_yaml(OUT DIR LABEL HEADER TYPE SYMBOL)
#     OUT     the C file to write          DIR     where the *.yaml files are
#     LABEL   their names' prefix          HEADER  declares struct TYPE
#     SYMBOL  the file defines SYMBOL_files[] and SYMBOL_count
function(bz_embed_yaml out dir label header type symbol)
  bz_embed_files(${out} ${dir} "*.yaml" ${label} ${header} ${type} ${symbol})
endfunction()

# bz_embed_files(OUT DIR PATTERN LABEL HEADER TYPE SYMBOL): the same for DIR/PATTERN (the
# console's page, script and style sheet: PATTERN "*.*").
function(bz_embed_files out dir pattern label header type symbol)
  file(GLOB files CONFIGURE_DEPENDS ${dir}/${pattern})
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DDIR=${dir} -DPATTERN=${pattern} -DLABEL=${label}
            -DHEADER=${header} -DTYPE=${type} -DSYMBOL=${symbol}
            -P ${CMAKE_SOURCE_DIR}/scripts/embed_schema.cmake
    DEPENDS ${files} ${CMAKE_SOURCE_DIR}/scripts/embed_schema.cmake)
endfunction()
