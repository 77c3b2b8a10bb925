#!/bin/sh
# Writes the definitions RabbitMQ imports at boot (rabbitmq.conf: definitions.local.path) from the
# environment, then runs the command (rabbitmq-server).
#   RABBITMQ_USER, RABBITMQ_PASSWORD   the user MaaS connects as (required; "guest" is refused)
#   RABBITMQ_VHOST                     default "/"
#   MAAS_QUEUES                        space-separated queue names, default "ingest" (INGEST_QUEUE)
# For each queue Q: Q and Q.DQ dead-letter to Q.XQ, and Q.XQ keeps dead messages 7 days: the
# arguments Dramatiq's RabbitmqBroker declares (a declare with other arguments fails with
# PRECONDITION_FAILED, so these must stay in step with dramatiq.brokers.rabbitmq).
set -eu
: "${RABBITMQ_USER:?RABBITMQ_USER is required}"
: "${RABBITMQ_PASSWORD:?RABBITMQ_PASSWORD is required}"
[ "$RABBITMQ_USER" != guest ] || { echo "maas-rabbitmq: refusing the guest user" >&2; exit 2; }
vhost=${RABBITMQ_VHOST:-/}
json() {  # a JSON string literal; the password may hold quotes or backslashes
    printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$/"/'
}
queues="" sep=""
for q in ${MAAS_QUEUES:-ingest}; do
    for name in "$q" "$q.DQ"; do
        queues="$queues$sep{\"name\":$(json "$name"),\"vhost\":$(json "$vhost"),\"durable\":true,\"auto_delete\":false,\"arguments\":{\"x-dead-letter-exchange\":\"\",\"x-dead-letter-routing-key\":$(json "$q.XQ")}}"
        sep=","
    done
    queues="$queues,{\"name\":$(json "$q.XQ"),\"vhost\":$(json "$vhost"),\"durable\":true,\"auto_delete\":false,\"arguments\":{\"x-message-ttl\":604800000}}"
done
umask 077
cat > /tmp/maas-definitions.json <<JSON
{"users":[{"name":$(json "$RABBITMQ_USER"),"password":$(json "$RABBITMQ_PASSWORD"),"tags":"administrator"}],
 "vhosts":[{"name":$(json "$vhost")}],
 "permissions":[{"user":$(json "$RABBITMQ_USER"),"vhost":$(json "$vhost"),"configure":".*","write":".*","read":".*"}],
 "queues":[$queues]}
JSON
# Debian's /usr/sbin/rabbitmq-server is a wrapper that writes /var/log/rabbitmq/startup_log (the
# root filesystem may be read-only): run the server script it wraps.
if [ "${1:-}" = rabbitmq-server ] && [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
    shift
    set -- /usr/lib/rabbitmq/bin/rabbitmq-server "$@"
fi
exec "$@"
