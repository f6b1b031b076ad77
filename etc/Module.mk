# etc — what 'make install' puts beside the configuration: comqttctl's
# settings, the LSB init script and the systemd unit (paths filled in).
CONF_FILES += etc/comqttctl.conf
SCRIPTS += \
	etc/init.d/comqttd:$(sysconfdir)/init.d/comqttd \
	etc/comqttd.service:$(prefix)/lib/systemd/system/comqttd.service
