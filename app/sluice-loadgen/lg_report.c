/* The report: a table for people, one JSON object for scripts. */
#include <stdio.h>

#include <rte_cycles.h>

#include "sl_hist.h"
#include "lg.h"

static const char *
shape(const struct lg_opts *o)
{
	return o->new_conn ? "new connection per request" : "keep-alive";
}

static double
idle_open_s(const struct lg_idle *id)
{
	return id->done_tsc > id->start_tsc ?
	       (double)(id->done_tsc - id->start_tsc) / (double)rte_get_tsc_hz() : 0;
}

static double
per_s(uint64_t n, double s)
{
	return s > 0 ? (double)n / s : 0;
}

static uint64_t
errors_total(const struct lg_client *cl)
{
	uint64_t n = 0;

	for (unsigned int e = 0; e < LG_E_MAX; e++)
		n += cl->st.errors[e];
	return n;
}

/* Quantile of a histogram in ns, as microseconds. */
static double
q_us(const struct sl_hist *h, double q)
{
	return (double)sl_hist_quantile(h, q) / 1000.0;
}

void
lg_report_table(FILE *out, const struct lg_result *r)
{
	const struct lg_opts *o = r->o;
	const struct lg_client *cl = r->cl;
	const struct lg_server *sv = r->sv;

	if (cl != NULL) {
		const struct lg_client_stats *st = &cl->st;

		fprintf(out, "sluice-loadgen: %s, %s, %u connection(s), %s %s, "
			"request body %u B\n", shape(o),
			o->rate > 0 ? "open loop" : "closed loop", o->conns,
			o->req_body ? "POST" : "GET", o->path, o->req_body);
		if (o->rate > 0)
			fprintf(out, "  offered        %.1f requests/s (most overdue at once: %lu)\n",
				o->rate, (unsigned long)st->backlog_max);
		fprintf(out, "  elapsed        %.3f s\n", r->elapsed_s);
		fprintf(out, "  requests       %lu ok of %lu issued   %.1f/s\n",
			(unsigned long)st->completed, (unsigned long)st->issued,
			per_s(st->completed, r->elapsed_s));
		fprintf(out, "  connections    %lu opened   %.1f/s\n",
			(unsigned long)st->conns_opened,
			per_s(st->conns_opened, r->elapsed_s));
		fprintf(out, "  errors         %lu\n", (unsigned long)errors_total(cl));
		for (unsigned int e = 0; e < LG_E_MAX; e++)
			if (st->errors[e])
				fprintf(out, "    %-16s %lu\n", lg_error_name(e),
					(unsigned long)st->errors[e]);
		fprintf(out, "  status         1xx %lu  2xx %lu  3xx %lu  4xx %lu  5xx %lu\n",
			(unsigned long)st->status[1], (unsigned long)st->status[2],
			(unsigned long)st->status[3], (unsigned long)st->status[4],
			(unsigned long)st->status[5]);
		fprintf(out, "  latency (us)   p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  "
			"max %.1f%s\n", q_us(&cl->lat, 0.5), q_us(&cl->lat, 0.9),
			q_us(&cl->lat, 0.99), q_us(&cl->lat, 0.999),
			(double)cl->lat.max / 1000.0,
			o->rate > 0 ? "  (from intended send times)" : "");
		fprintf(out, "  connect (us)   p50 %.1f  p99 %.1f  max %.1f\n",
			q_us(&cl->conn_lat, 0.5), q_us(&cl->conn_lat, 0.99),
			(double)cl->conn_lat.max / 1000.0);
	}
	if (sv != NULL)
		fprintf(out, "server: %lu requests answered (%u-byte bodies), %lu "
			"connections accepted, %lu refused, %lu bad requests\n",
			(unsigned long)sv->st.requests, o->resp_body,
			(unsigned long)sv->st.accepted, (unsigned long)sv->st.refused,
			(unsigned long)sv->st.bad_requests);
	if (r->idle != NULL)
		fprintf(out, "idle: %lu of %u established in %.1f s (%lu SYNs; failed: %lu "
			"refused, %lu timed out, %lu without a local port or slot), "
			"%lu closed by the peer while idle, %lu bytes received\n",
			(unsigned long)r->idle->st.established, r->idle->n,
			idle_open_s(r->idle), (unsigned long)r->idle->st.connects,
			(unsigned long)r->idle->st.refused, (unsigned long)r->idle->st.timed_out,
			(unsigned long)r->idle->st.no_slot, (unsigned long)r->idle->st.closed,
			(unsigned long)r->idle->st.bytes_in);
	fprintf(out, "loadgen lcore busy %.1f%%%s\n", r->busy_pct,
		r->busy_pct > 90 ? " (the load generator may be the bottleneck)" : "");
}

static void
json_hist(FILE *out, const char *name, const struct sl_hist *h)
{
	fprintf(out, "\"%s\":{\"count\":%lu,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,"
		"\"p99_9\":%.3f,\"max\":%.3f,\"mean\":%.3f}", name,
		(unsigned long)h->count, q_us(h, 0.5), q_us(h, 0.9), q_us(h, 0.99),
		q_us(h, 0.999), (double)h->max / 1000.0,
		h->count ? (double)h->sum / (double)h->count / 1000.0 : 0.0);
}

void
lg_report_json(FILE *out, const struct lg_result *r)
{
	const struct lg_opts *o = r->o;
	const struct lg_client *cl = r->cl;
	const struct lg_server *sv = r->sv;

	fprintf(out, "{\"elapsed_s\":%.6f,\"busy_pct\":%.2f", r->elapsed_s, r->busy_pct);
	if (cl != NULL) {
		const struct lg_client_stats *st = &cl->st;

		fprintf(out, ",\"shape\":{\"keep_alive\":%s,\"open_loop\":%s,"
			"\"rate\":%.3f,\"connections\":%u,\"duration_s\":%.3f,"
			"\"requests\":%lu,\"request_body\":%u,\"expect_body\":%ld}",
			o->new_conn ? "false" : "true", o->rate > 0 ? "true" : "false",
			o->rate, o->conns, o->duration_s, (unsigned long)o->requests,
			o->req_body, (long)o->expect_body);
		fprintf(out, ",\"requests\":%lu,\"issued\":%lu,\"responses\":%lu,"
			"\"requests_per_s\":%.3f,\"connections\":%lu,\"connects\":%lu,"
			"\"connections_per_s\":%.3f,\"bytes_in\":%lu,\"backlog_max\":%lu",
			(unsigned long)st->completed, (unsigned long)st->issued,
			(unsigned long)st->responses, per_s(st->completed, r->elapsed_s),
			(unsigned long)st->conns_opened, (unsigned long)st->connects,
			per_s(st->conns_opened, r->elapsed_s), (unsigned long)st->bytes_in,
			(unsigned long)st->backlog_max);
		fprintf(out, ",\"errors_total\":%lu,\"errors\":{", (unsigned long)errors_total(cl));
		for (unsigned int e = 0; e < LG_E_MAX; e++)
			fprintf(out, "%s\"%s\":%lu", e ? "," : "", lg_error_name(e),
				(unsigned long)st->errors[e]);
		fprintf(out, "},\"status\":{\"1xx\":%lu,\"2xx\":%lu,\"3xx\":%lu,"
			"\"4xx\":%lu,\"5xx\":%lu},", (unsigned long)st->status[1],
			(unsigned long)st->status[2], (unsigned long)st->status[3],
			(unsigned long)st->status[4], (unsigned long)st->status[5]);
		json_hist(out, "latency_us", &cl->lat);
		fputc(',', out);
		json_hist(out, "connect_us", &cl->conn_lat);
	}
	if (sv != NULL)
		fprintf(out, ",\"server\":{\"requests\":%lu,\"accepted\":%lu,"
			"\"refused\":%lu,\"bad_requests\":%lu,\"bytes_out\":%lu,"
			"\"no_mbuf\":%lu,\"response_body\":%u}",
			(unsigned long)sv->st.requests, (unsigned long)sv->st.accepted,
			(unsigned long)sv->st.refused, (unsigned long)sv->st.bad_requests,
			(unsigned long)sv->st.bytes_out, (unsigned long)sv->st.no_mbuf,
			o->resp_body);
	if (r->idle != NULL)
		fprintf(out, ",\"idle\":{\"requested\":%u,\"connects\":%lu,"
			"\"established\":%lu,\"failed\":%lu,\"refused\":%lu,"
			"\"timed_out\":%lu,\"no_slot\":%lu,\"closed\":%lu,"
			"\"bytes_in\":%lu,\"open_s\":%.3f,\"ports\":%u}",
			r->idle->n, (unsigned long)r->idle->st.connects,
			(unsigned long)r->idle->st.established,
			(unsigned long)r->idle->st.failed, (unsigned long)r->idle->st.refused,
			(unsigned long)r->idle->st.timed_out, (unsigned long)r->idle->st.no_slot,
			(unsigned long)r->idle->st.closed,
			(unsigned long)r->idle->st.bytes_in, idle_open_s(r->idle),
			o->idle_ports);
	fputs("}\n", out);
}
