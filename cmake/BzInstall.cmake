# BzInstall.cmake - `cmake --install` and the Debian package (`cpack -G DEB`, scripts/package.sh).
#
# Owns where things go on an installed system: the three binaries in /usr/bin, the systemd units
# (the single-machine bizoope.service and the distributed mode's units) in /lib/systemd/system,
# example configurations and the documentation in /usr/share/doc/bizoope, man pages made from
# each binary's --help (help2man, when found), bash completion. Nothing is started or configured
# by installing: `bizoope init /var/lib/bizoope --site ID` makes an installation, and the units
# read /etc/bizoope/bizoope.yaml.
set(CMAKE_INSTALL_DOCDIR share/doc/bizoope) # the name the units' Documentation= and docs use
include(GNUInstallDirs)

install(TARGETS bizoope bizoope-coordinator bizoope-worker RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# systemd looks in /lib/systemd/system for a package's units whatever the prefix is.
set(BZ_UNIT_DIR "/lib/systemd/system" CACHE PATH "where the systemd units are installed")
file(GLOB BZ_UNITS ${CMAKE_SOURCE_DIR}/deploy/systemd/*.service ${CMAKE_SOURCE_DIR}/deploy/systemd/*.timer)
install(FILES ${BZ_UNITS} DESTINATION ${BZ_UNIT_DIR})

install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/docs/feed-format.md
              ${CMAKE_SOURCE_DIR}/docs/feed-format.ja.md ${CMAKE_SOURCE_DIR}/docs/runbook.md
              ${CMAKE_SOURCE_DIR}/docs/onboarding.md ${CMAKE_SOURCE_DIR}/docs/scaling.md
              ${CMAKE_SOURCE_DIR}/docs/google-cloud.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB BZ_EXAMPLE_CONFIGS ${CMAKE_SOURCE_DIR}/deploy/config/*.yaml)
install(FILES ${BZ_EXAMPLE_CONFIGS} DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/completion/bizoope.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME bizoope)
foreach(alias bizoope-coordinator bizoope-worker)
  install(FILES ${CMAKE_SOURCE_DIR}/deploy/completion/bizoope.bash
          DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME ${alias})
endforeach()

# Man pages from --help and --version, so they never disagree with the program.
find_program(HELP2MAN help2man)
if(HELP2MAN)
  set(BZ_MAN_PAGES "")
  foreach(prog bizoope bizoope-coordinator bizoope-worker)
    set(page ${CMAKE_BINARY_DIR}/man/${prog}.1.gz)
    if(prog STREQUAL "bizoope")
      set(what "validate, deduplicate and load ID-POS feed files")
    elseif(prog STREQUAL "bizoope-coordinator")
      set(what "the coordinator of bizoope's distributed mode")
    else()
      set(what "a shard worker of bizoope's distributed mode")
    endif()
    add_custom_command(OUTPUT ${page}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
      COMMAND ${HELP2MAN} --no-info --no-discard-stderr --name=${what} --section=1
              --source=bizoope-batch --output=${CMAKE_BINARY_DIR}/man/${prog}.1
              $<TARGET_FILE:${prog}>
      COMMAND gzip -9nf ${CMAKE_BINARY_DIR}/man/${prog}.1
      DEPENDS ${prog} VERBATIM)
    list(APPEND BZ_MAN_PAGES ${page})
  endforeach()
  add_custom_target(man ALL DEPENDS ${BZ_MAN_PAGES})
  install(FILES ${BZ_MAN_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(STATUS "help2man not found: no man pages (apt-get install help2man)")
endif()

set(CPACK_PACKAGE_NAME bizoope)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "bizoope-batch maintainers <bizoope@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "retail ID-POS feed loader: validate, deduplicate, merge, explain rejects")
set(CPACK_PACKAGE_DESCRIPTION
    "bizoope-batch turns partner sites' ID-POS TSV feeds (receipt journals, items,\nmembers, stores) into validated, deduplicated, merged warehouse tables (SQLite on\none machine, BigQuery at scale), gives each sender an error file listing every\nrejected line and why, keeps backups and archives, and runs the daily, weekly and\nmonthly batches.")
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON) # the runtime libraries, from the binaries themselves
set(CPACK_DEBIAN_PACKAGE_DEPENDS "tzdata")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "zstd, sqlite3")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_SOURCE_DIR}/deploy/debian/postinst)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
