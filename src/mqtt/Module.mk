# src/mqtt — the MQTT 3.1 / 3.1.1 / 5.0 codec: framing, packets,
# properties, reason codes, UTF-8 and topics.
LIB_SRCS += \
	src/mqtt/connect.c \
	src/mqtt/control.c \
	src/mqtt/frame.c \
	src/mqtt/packet.c \
	src/mqtt/props.c \
	src/mqtt/publish.c \
	src/mqtt/reason.c \
	src/mqtt/subscribe.c \
	src/mqtt/topic.c \
	src/mqtt/utf8.c
UNIT_TESTS += \
	t/unit/check_mqtt_connect.c \
	t/unit/check_mqtt_control.c \
	t/unit/check_mqtt_frame.c \
	t/unit/check_mqtt_props.c \
	t/unit/check_mqtt_publish.c \
	t/unit/check_mqtt_reason.c \
	t/unit/check_mqtt_subscribe.c \
	t/unit/check_mqtt_topic.c \
	t/unit/check_mqtt_utf8.c
