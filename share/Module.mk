# share — read-only data installed with the broker: the dashboard that
# comqtt-admin serves (admin.dashboard_dir "" = $(pkgdatadir)/dashboard).
DATA_FILES += \
	share/dashboard/app.css \
	share/dashboard/app.js \
	share/dashboard/favicon.svg \
	share/dashboard/index.html
