/*
 * handle_ping.c — PINGREQ: answered with PINGRESP [MQTT-3.12.4-1].  Any
 * packet keeps the connection alive (conn.c); this one only asks.
 */
#include "config.h"
#include "workers/handle.h"

#include "workers/conn.h"

int
cq_handle_pingreq(cq_conn_t *c)
{
	cq_mqtt_packet_t p = {.type = CQ_MQTT_PINGRESP};
	cq_conn_send_packet(c, &p);
	return 0;
}
