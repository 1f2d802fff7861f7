/* HTTP routing: precedence of exact host, wildcard, any host; longest
 * prefix; method filters; default pool; normalisation of Host. */
#include <stdlib.h>

#include "sl_conf.h"
#include "sl_route.h"
#include "sl_test.h"

static const char *conf_json =
	"{\"version\": 1,"
	" \"ports\": [ {\"name\": \"p0\", \"address\": \"198.18.0.1/24\"} ],"
	" \"pools\": ["
	"   {\"name\": \"a\", \"backends\": [{\"address\": \"198.18.0.10\", \"port\": 80}]},"
	"   {\"name\": \"b\", \"backends\": [{\"address\": \"198.18.0.11\", \"port\": 80}]},"
	"   {\"name\": \"c\", \"backends\": [{\"address\": \"198.18.0.12\", \"port\": 80}]}],"
	" \"listeners\": [ {\"name\": \"web\", \"address\": \"198.18.0.1\", \"port\": 80,"
	"   \"mode\": \"http\", \"pool\": \"c\", \"routes\": ["
	"     {\"host\": \"api.example.com\", \"path_prefix\": \"/v1/\", \"pool\": \"a\"},"       /* 0 */
	"     {\"host\": \"API.example.com\", \"path_prefix\": \"/v1/admin\","
	"      \"methods\": [\"POST\"], \"pool\": \"b\"},"                                          /* 1 */
	"     {\"host\": \"*.example.com\", \"pool\": \"b\"},"                                     /* 2 */
	"     {\"host\": \"*.deep.example.com\", \"path_prefix\": \"/x\", \"pool\": \"a\"},"       /* 3 */
	"     {\"path_prefix\": \"/static/\", \"methods\": [\"GET\", \"HEAD\"], \"pool\": \"a\"}," /* 4 */
	"     {\"path_prefix\": \"/static/\", \"pool\": \"b\"}"                                     /* 5 */
	"   ]} ]}";

static int
look(const struct sl_route_table *t, const char *host, const char *path,
     unsigned int method)
{
	return sl_route_lookup(t, host, strlen(host), path, strlen(path), method);
}

int
main(void)
{
	struct sl_conf_diag d = { 0 };
	struct sl_conf *c = sl_conf_load_buf("t", conf_json, strlen(conf_json),
					     false, &d);
	struct sl_route_table *t;

	sl_conf_diag_print(&d, "t", stderr);
	CHECK(c != NULL);
	if (c == NULL)
		return sl_test_result("test_route");
	t = sl_route_compile(&c->listeners[0]);
	CHECK(t != NULL);

	/* Exact host, longest prefix, method filter. */
	CHECK_EQ(look(t, "api.example.com", "/v1/users", SL_METHOD_GET), 0);
	CHECK_EQ(look(t, "api.example.com", "/v1/admin/x", SL_METHOD_POST), 1);
	CHECK_EQ(look(t, "api.example.com", "/v1/admin/x", SL_METHOD_GET), 0);
	/* Host normalisation: case, port, trailing dot. */
	CHECK_EQ(look(t, "API.Example.COM:8080", "/v1/a", SL_METHOD_GET), 0);
	CHECK_EQ(look(t, "api.example.com.", "/v1/a", SL_METHOD_GET), 0);
	/* The exact host has no route for /other: fall to the wildcard. */
	CHECK_EQ(look(t, "api.example.com", "/other", SL_METHOD_GET), 2);
	/* Wildcards: longest suffix first; the bare domain does not match. */
	CHECK_EQ(look(t, "www.example.com", "/", SL_METHOD_GET), 2);
	CHECK_EQ(look(t, "a.deep.example.com", "/x/y", SL_METHOD_GET), 3);
	CHECK_EQ(look(t, "a.deep.example.com", "/y", SL_METHOD_GET), 2);
	CHECK_EQ(look(t, "example.com", "/", SL_METHOD_GET), SL_ROUTE_DEFAULT);
	/* Any host: method filters, then config order within one prefix. */
	CHECK_EQ(look(t, "other.org", "/static/app.js", SL_METHOD_GET), 4);
	CHECK_EQ(look(t, "other.org", "/static/app.js", SL_METHOD_POST), 5);
	CHECK_EQ(look(t, "", "/static/", SL_METHOD_HEAD), 4);
	/* The query is not part of the path. */
	CHECK_EQ(look(t, "other.org", "/static?x=/static/", SL_METHOD_GET),
		 SL_ROUTE_DEFAULT);
	CHECK_EQ(look(t, "other.org", "/nothing", SL_METHOD_GET), SL_ROUTE_DEFAULT);
	sl_route_free(t);

	/* Tables with only some kinds of host: a lookup skips the kinds a
	 * table lacks, and must still find the others. (Route numbers are
	 * within the slice of routes compiled.) */
	{
		struct sl_conf_listener l = c->listeners[0];

		l.routes = c->listeners[0].routes + 2;    /* wildcards only */
		l.n_routes = 2;
		t = sl_route_compile(&l);
		CHECK_EQ(look(t, "WWW.example.com:81", "/", SL_METHOD_GET), 0);
		CHECK_EQ(look(t, "a.deep.example.com", "/x/y", SL_METHOD_GET), 1);
		CHECK_EQ(look(t, "example.com", "/", SL_METHOD_GET), SL_ROUTE_DEFAULT);
		sl_route_free(t);
		l.routes = c->listeners[0].routes;        /* exact hosts only */
		l.n_routes = 2;
		t = sl_route_compile(&l);
		CHECK_EQ(look(t, "API.example.com.", "/v1/a", SL_METHOD_GET), 0);
		CHECK_EQ(look(t, "www.example.com", "/v1/a", SL_METHOD_GET),
			 SL_ROUTE_DEFAULT);
		sl_route_free(t);
		l.routes = c->listeners[0].routes + 4;    /* no host at all */
		l.n_routes = 2;
		t = sl_route_compile(&l);
		CHECK_EQ(look(t, "api.example.com", "/static/a", SL_METHOD_GET), 0);
		CHECK_EQ(look(t, "api.example.com", "/static/a", SL_METHOD_PUT), 1);
		CHECK_EQ(look(t, "api.example.com", "/v1/a", SL_METHOD_GET),
			 SL_ROUTE_DEFAULT);
		sl_route_free(t);
	}

	/* Without a listener pool a miss is no route (404). */
	c->listeners[0].pool = -1;
	t = sl_route_compile(&c->listeners[0]);
	CHECK_EQ(look(t, "other.org", "/nothing", SL_METHOD_GET), SL_ROUTE_NONE);
	sl_route_free(t);
	sl_conf_free(c);
	sl_conf_diag_free(&d);

	/* Validation of routes. */
	{
		static const char *bad =
			"{\"version\": 1,"
			" \"ports\": [ {\"name\": \"p0\", \"address\": \"198.18.0.1/24\"} ],"
			" \"pools\": [ {\"name\": \"a\", \"backends\": [{\"address\": \"198.18.0.10\", \"port\": 80}]}],"
			" \"listeners\": [ {\"name\": \"web\", \"address\": \"198.18.0.1\", \"port\": 80,"
			"   \"routes\": ["
			"     {\"host\": \"bad host\", \"pool\": \"a\"},"
			"     {\"path_prefix\": \"nope\", \"pool\": \"a\"},"
			"     {\"methods\": [\"FETCH\"], \"pool\": \"a\"},"
			"     {\"pool\": \"zz\"},"
			"     {\"path_prefix\": \"/\", \"pool\": \"a\"},"
			"     {\"path_prefix\": \"/\", \"methods\": [\"GET\"], \"pool\": \"a\"}"
			"   ]},"
			"  {\"name\": \"l4\", \"address\": \"198.18.0.1\", \"port\": 81, \"mode\": \"tcp\","
			"   \"pool\": \"a\", \"routes\": [ {\"pool\": \"a\"} ]} ]}";
		struct sl_conf_diag e = { 0 };

		CHECK(sl_conf_load_buf("t", bad, strlen(bad), false, &e) == NULL);
		CHECK_EQ(e.n_errors, 6);
		sl_conf_diag_print(&e, "bad", stdout);
		sl_conf_diag_free(&e);
	}
	return sl_test_result("test_route");
}
