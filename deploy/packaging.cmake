# Installation rules and the three Debian packages (cpack -G DEB in a
# build directory; -DSS_TESTS=OFF builds only what goes in them):
#   storesync-agent  store-agent, storectl, agent.ini, store-agent.service
#   storesync-hub    hq-hub, hub.ini, hq-hub.service, storesync-backup-hub
#   storesync-tools  hqctl (operators, anywhere)
#   storesync-export hq-export, export.ini, hq-export.service (on the hub's
#                    host; not started until export.ini names the database)
# Tests, benchmarks and the generator never go into a package. Library
# dependencies are Debian's package names as dpkg-shlibdeps finds them; the
# maintainer scripts (deploy/debian/*.in) make the storesync user, keep the
# data on remove and delete it on purge. /etc/storesync/*.ini are conffiles.
include(GNUInstallDirs)

set(SS_ETC_DIR /etc/storesync)
set(SS_UNIT_DIR /lib/systemd/system)
set(SS_DEB_DIR ${CMAKE_BINARY_DIR}/debian)
set(SS_DEB_MAINTAINER "storesync HQ IT <hq-it@storesync.example>")

# --help of every program, and a man page made from it (help2man), so
# `man store-agent` and /usr/share/doc say the same as the program.
find_program(HELP2MAN help2man)
find_program(GZIP gzip REQUIRED)

function(ss_doc_program target component section)
  set(pkg storesync-${component})
  set(help ${SS_DEB_DIR}/${target}.help)
  add_custom_command(OUTPUT ${help}
    COMMAND $<TARGET_FILE:${target}> --help > ${help}
    DEPENDS ${target} COMMENT "${target} --help")
  set(outs ${help})
  if(HELP2MAN)
    set(man ${SS_DEB_DIR}/${target}.${section})
    add_custom_command(OUTPUT ${man}.gz
      COMMAND ${HELP2MAN} --no-info --section=${section} --source=storesync
        --version-string=${SS_VERSION} --name=${target} --output=${man} $<TARGET_FILE:${target}>
      COMMAND ${GZIP} -9nf ${man}
      DEPENDS ${target} COMMENT "man page ${target}.${section}")
    list(APPEND outs ${man}.gz)
    install(FILES ${man}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section}
      COMPONENT ${component})
  endif()
  add_custom_target(doc_${target} ALL DEPENDS ${outs})
  install(FILES ${help} DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${pkg}
    COMPONENT ${component})
endfunction()

# Per package: copyright, a changelog, the maintainer scripts and conffiles.
function(ss_deb_package component unit autostart data_dir purge_files conffiles)
  set(pkg storesync-${component})
  set(dir ${SS_DEB_DIR}/${component})
  file(MAKE_DIRECTORY ${dir})
  string(TIMESTAMP date "%a, %d %b %Y %H:%M:%S +0000" UTC)
  file(WRITE ${dir}/changelog.Debian
    "storesync (${SS_VERSION}-1) stable; urgency=medium\n\n"
    "  * storesync ${SS_VERSION}: see the repository's history.\n\n"
    " -- ${SS_DEB_MAINTAINER}  ${date}\n")
  add_custom_command(OUTPUT ${dir}/changelog.Debian.gz
    COMMAND ${GZIP} -9nc ${dir}/changelog.Debian > ${dir}/changelog.Debian.gz
    DEPENDS ${dir}/changelog.Debian)
  add_custom_target(changelog_${component} ALL DEPENDS ${dir}/changelog.Debian.gz)
  # The README, which the units' Documentation= names.
  install(FILES ${dir}/changelog.Debian.gz ${CMAKE_SOURCE_DIR}/deploy/debian/copyright
    ${CMAKE_SOURCE_DIR}/README.md
    DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${pkg} COMPONENT ${component})
  if(NOT unit)
    return()
  endif()
  set(PKG ${pkg})
  set(UNIT ${unit})
  set(AUTOSTART ${autostart})
  set(DATA_DIR ${data_dir})
  set(PURGE_FILES ${purge_files})
  set(extra)
  foreach(script postinst prerm postrm)
    configure_file(${CMAKE_SOURCE_DIR}/deploy/debian/${script}.in ${dir}/${script} @ONLY
      FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
      WORLD_READ WORLD_EXECUTE)
    list(APPEND extra ${dir}/${script})
  endforeach()
  # Kept on upgrade, the local edits (store id, hub) dpkg never overwrites.
  string(REPLACE ";" "\n" lines "${conffiles}")
  file(WRITE ${dir}/conffiles "${lines}\n")
  list(APPEND extra ${dir}/conffiles)
  set(${component}_CONTROL_EXTRA ${extra} PARENT_SCOPE)
endfunction()

# storesync-agent
install(TARGETS store-agent RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR} COMPONENT agent)
install(TARGETS storectl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT agent)
install(FILES deploy/agent.ini DESTINATION ${SS_ETC_DIR} COMPONENT agent)
install(FILES deploy/store-agent.service DESTINATION ${SS_UNIT_DIR} COMPONENT agent)
ss_doc_program(store-agent agent 8)
ss_doc_program(storectl agent 1)
ss_deb_package(agent store-agent.service yes /var/lib/storesync/agent
  "/etc/storesync/agent.key /etc/storesync/agent.key.pub /etc/storesync/hub.pub"
  "${SS_ETC_DIR}/agent.ini")

# storesync-hub
install(TARGETS hq-hub RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR} COMPONENT hub)
install(PROGRAMS deploy/backup-hub.sh DESTINATION ${CMAKE_INSTALL_SBINDIR}
  RENAME storesync-backup-hub COMPONENT hub)
install(FILES deploy/hub.ini DESTINATION ${SS_ETC_DIR} COMPONENT hub)
install(FILES deploy/hq-hub.service DESTINATION ${SS_UNIT_DIR} COMPONENT hub)
ss_doc_program(hq-hub hub 8)
add_custom_command(OUTPUT ${SS_DEB_DIR}/storesync-backup-hub.8.gz
  COMMAND ${GZIP} -9nc ${CMAKE_SOURCE_DIR}/deploy/debian/storesync-backup-hub.8
    > ${SS_DEB_DIR}/storesync-backup-hub.8.gz
  DEPENDS ${CMAKE_SOURCE_DIR}/deploy/debian/storesync-backup-hub.8)
add_custom_target(doc_backup_hub ALL DEPENDS ${SS_DEB_DIR}/storesync-backup-hub.8.gz)
install(FILES ${SS_DEB_DIR}/storesync-backup-hub.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8
  COMPONENT hub)
ss_deb_package(hub hq-hub.service yes /var/lib/storesync/hub
  "/etc/storesync/hub.key /etc/storesync/hub.key.pub" "${SS_ETC_DIR}/hub.ini")

# storesync-tools
install(TARGETS hqctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tools)
ss_doc_program(hqctl tools 1)
ss_deb_package(tools "" no "" "" "")

# storesync-export: its data is the hub's and PostgreSQL's, so purge
# deletes neither.
install(TARGETS hq-export RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR} COMPONENT export)
install(FILES deploy/export.ini DESTINATION ${SS_ETC_DIR} COMPONENT export)
install(FILES deploy/hq-export.service DESTINATION ${SS_UNIT_DIR} COMPONENT export)
install(FILES docs/export.md DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/storesync-export
  COMPONENT export)
ss_doc_program(hq-export export 8)
ss_deb_package(export hq-export.service no "" "" "${SS_ETC_DIR}/export.ini")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME storesync)
set(CPACK_PACKAGE_VERSION ${SS_VERSION})
set(CPACK_PACKAGE_CONTACT ${SS_DEB_MAINTAINER})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL agent hub tools export)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Debian's policy (and lintian): installed programs are stripped.
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://storesync.example/")

set(CPACK_DEBIAN_AGENT_PACKAGE_NAME storesync-agent)
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_AGENT_PACKAGE_SECTION net)
set(CPACK_COMPONENT_AGENT_DESCRIPTION "storesync store agent\n"
  " The agent of one retail store: takes records from the tills on a local\n"
  " socket, keeps each durable before answering, and sends them to the HQ hub\n"
  " over CurveZMQ; takes prices and policies down from the hub. storectl is\n"
  " the store's command line.")
set(CPACK_DEBIAN_AGENT_PACKAGE_CONTROL_EXTRA "${agent_CONTROL_EXTRA}")

set(CPACK_DEBIAN_HUB_PACKAGE_NAME storesync-hub)
set(CPACK_DEBIAN_HUB_PACKAGE_DEPENDS "adduser, lmdb-utils")
set(CPACK_DEBIAN_HUB_PACKAGE_RECOMMENDS "storesync-tools")
set(CPACK_DEBIAN_HUB_PACKAGE_SECTION net)
set(CPACK_COMPONENT_HUB_DESCRIPTION "storesync central hub\n"
  " The hub at HQ: receives every store's records exactly once, keeps the\n"
  " views HQ asks about, and sends prices and policies down to the stores.")
set(CPACK_DEBIAN_HUB_PACKAGE_CONTROL_EXTRA "${hub_CONTROL_EXTRA}")

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME storesync-tools)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION net)
set(CPACK_COMPONENT_TOOLS_DESCRIPTION "storesync operators' command line\n"
  " hqctl asks and instructs the storesync hub: the fleet, sales, accounts,\n"
  " prices, policies, store keys and the agents' versions during a rollout.")

set(CPACK_DEBIAN_EXPORT_PACKAGE_NAME storesync-export)
set(CPACK_DEBIAN_EXPORT_PACKAGE_DEPENDS "adduser, storesync-hub (= ${SS_VERSION}-1)")
set(CPACK_DEBIAN_EXPORT_PACKAGE_SECTION database)
set(CPACK_COMPONENT_EXPORT_DESCRIPTION "storesync export to PostgreSQL\n"
  " hq-export copies the hub's event log and views into PostgreSQL,\n"
  " continuously and exactly once, for BI tools. It runs beside hq-hub,\n"
  " reading the hub's data directory.")
set(CPACK_DEBIAN_EXPORT_PACKAGE_CONTROL_EXTRA "${export_CONTROL_EXTRA}")

include(CPack)
