# man — hand-written manual pages, linted by t/002_man_lint.t.
MAN_PAGES += man/comqttd.8 man/comqtt.yml.5 man/comqttctl.1
