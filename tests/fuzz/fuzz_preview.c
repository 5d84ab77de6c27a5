/*
 * fuzz_preview.c - libFuzzer harness for http_preview()
 * (src/http/http_preview.c): the console's view of a quarantined message
 * (decoded headers, text, sanitized HTML, attachment list) built from the
 * bytes anyone can send.
 *
 * Checks: the object has its four members; every header of the parsed
 * message is in the list as [name, value] of strings (none dropped for
 * odd bytes); text is a string; html is null or a string without a
 * script element; every attachment has a string name and type and a
 * size.  The whole object serialises as JSON.
 *
 * The same message as outbound mail: outbound_sender() (the From of a
 * null sender) and outbound_bcc_addrs() (the external To and Cc, for
 * wide_external_action = bcc) give lower-case text without control
 * bytes (a garbled To or From, an unclosed quote, may still give blanks
 * and brackets: a history key, never a header line).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http_int.h"
#include "detect/detect_outbound.h"
#include "message/message.h"
#include "store/envelope.h"
#include "util/config.h"
#include "fuzz.h"

static void
check_addr(const char *a)
{
	CHECK(a[0] != '\0');
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		CHECK(*p >= 0x20 && *p != 0x7f && !(*p >= 'A' && *p <= 'Z'));
}

static void
outbound_addrs(const struct message *msg)
{
	static struct config *cfg;
	struct envelope *env = envelope_new();
	char **bcc, *sender;

	if (cfg == NULL) {
		char err[256];
		cfg = config_new();
		CHECK(config_set(cfg, "local_domains", "example.com", err, sizeof(err)) == 0);
	}
	env->mail_from = strdup("");
	if ((sender = outbound_sender(env, msg)) != NULL) {
		check_addr(sender);
		free(sender);
	}
	envelope_free(env);
	if ((bcc = outbound_bcc_addrs(cfg, msg)) != NULL) {
		CHECK(bcc[0] != NULL);
		for (size_t i = 0; bcc[i] != NULL; i++) {
			check_addr(bcc[i]);
			free(bcc[i]);
		}
		free(bcc);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *obj, *headers, *html, *atts;
	struct message *msg;
	char *raw, *dump;

	/* GObjects from malloc, so that LeakSanitizer sees a part left behind
	 * (GSlice keeps them in its own reachable slabs); before GLib's first
	 * allocation */
	setenv("G_SLICE", "always-malloc", 0);
	if (size > 512 * 1024)
		return 0;
	raw = malloc(size ? size : 1);
	CHECK(raw != NULL);
	memcpy(raw, data, size);
	obj = json_object();
	http_preview(obj, raw, size);
	headers = json_object_get(obj, "headers");
	html = json_object_get(obj, "html");
	atts = json_object_get(obj, "attachments");
	CHECK(json_is_array(headers) && json_is_array(atts));
	CHECK(json_is_string(json_object_get(obj, "text")));
	CHECK(json_is_null(html) || json_is_string(html));
	if (json_is_string(html))
		CHECK(strcasestr(json_string_value(html), "<script") == NULL);
	msg = message_parse(raw, size, NULL);
	CHECK(json_array_size(headers) == msg->nheaders);
	outbound_addrs(msg);
	message_free(msg);
	for (size_t i = 0; i < json_array_size(headers); i++) {
		json_t *h = json_array_get(headers, i);
		CHECK(json_is_array(h) && json_array_size(h) == 2);
		CHECK(json_is_string(json_array_get(h, 0)) && json_is_string(json_array_get(h, 1)));
	}
	for (size_t i = 0; i < json_array_size(atts); i++) {
		json_t *a = json_array_get(atts, i);
		CHECK(json_is_string(json_object_get(a, "name")));
		CHECK(json_is_string(json_object_get(a, "type")));
		CHECK(json_is_integer(json_object_get(a, "size")));
	}
	dump = json_dumps(obj, 0);
	CHECK(dump != NULL);
	free(dump);
	json_decref(obj);
	free(raw);
	return 0;
}
