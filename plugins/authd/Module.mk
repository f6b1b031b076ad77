# plugins/authd — comqtt-authd: the authentication and ACL process, its
# backends and password schemes.  The code is in libcomqtt.a too, so the
# master can fork authd in-process (cq_authd_child_main()) and the unit
# tests can reach it; whatever links it adds $(AUTHD_LIBS).
AUTHD_LIBS = $(HIREDIS_LIBS) $(PQ_LIBS) $(MARIADB_LIBS) $(CURL_LIBS) \
	$(CRYPT_LIBS)

LIB_SRCS += \
	plugins/authd/acl.c \
	plugins/authd/authd.c \
	plugins/authd/backend_allow.c \
	plugins/authd/backend_http.c \
	plugins/authd/backend_ledger.c \
	plugins/authd/backend_mysql.c \
	plugins/authd/backend_postgres.c \
	plugins/authd/backend_redis.c \
	plugins/authd/backend_sql.c \
	plugins/authd/chain.c \
	plugins/authd/conn.c \
	plugins/authd/doc.c \
	plugins/authd/ledger.c \
	plugins/authd/password.c \
	plugins/authd/pool.c \
	plugins/authd/request.c

PROGRAMS += comqtt-authd
comqtt-authd_SRCS = plugins/authd/main.c
comqtt-authd_LIBS = $(AUTHD_LIBS) $(JEMALLOC_LIBS)

UNIT_EXTRA_LIBS += $(AUTHD_LIBS)

UNIT_TESTS += \
	t/unit/check_auth_chain.c \
	t/unit/check_auth_ledger.c \
	t/unit/check_auth_password.c
MAN_PAGES += man/comqtt-authd.8
