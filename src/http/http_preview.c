/*
 * http_preview.c - what the console shows of a quarantined message:
 * decoded headers, the plain text, the HTML made safe (http_sanitize.c)
 * and the list of attachments.  The bytes are parsed with the same parser
 * as the scan (message_parse), so the preview and the verdict agree on
 * what the message says.
 *
 * Limits: PREVIEW_MAX_TEXT bytes of text and of HTML source per message;
 * the parser's own limits apply before that.  Nothing here loads anything.
 */
#include "http/http_int.h"
#include "http/http_sanitize.h"
#include "message/message.h"
#include "util/util.h"

#include <string.h>

#define PREVIEW_MAX_TEXT	(1u << 20)

/* UTF-8 text cut at a character boundary. */
static json_t *
text_json(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	json_t *j = json_stringn(s, n);

	return j ? j : json_string("(text not valid UTF-8)");
}

void
http_preview(json_t *obj, const char *raw, size_t len)
{
	struct message *msg = message_parse(raw, len, NULL);
	json_t *headers = json_array(), *atts = json_array(), *html;
	struct buf hb = { 0 };
	const char *text;

	for (size_t i = 0; i < msg->nheaders; i++)
		json_array_append_new(headers, json_pack("[o, o]",
		    http_json_str(msg->headers[i].name),
		    http_json_str(msg->headers[i].value ? msg->headers[i].value : "")));
	text = msg->text && *msg->text ? msg->text : msg->html_text ? msg->html_text : "";
	for (size_t i = 0; i < msg->nparts; i++) {
		const struct msg_part *p = &msg->parts[i];

		if (p->is_html && p->html != NULL && hb.len < PREVIEW_MAX_TEXT)
			buf_add(&hb, p->html, strlen(p->html));
		if (p->is_attachment)
			json_array_append_new(atts, json_pack("{s:o, s:o, s:I}",
			    "name", http_json_str(p->filename ? p->filename : ""),
			    "type", http_json_str(p->content_type ? p->content_type :
			    "application/octet-stream"),
			    "size", (json_int_t)p->size));
	}
	if (hb.len > 0) {
		char *clean = http_sanitize_html(hb.p, hb.len > PREVIEW_MAX_TEXT ?
		    PREVIEW_MAX_TEXT : hb.len);

		html = http_json_str(clean);
		free(clean);
	} else {
		html = json_null();
	}
	buf_free(&hb);
	json_object_set_new(obj, "headers", headers);
	json_object_set_new(obj, "text", text_json(text, PREVIEW_MAX_TEXT));
	json_object_set_new(obj, "html", html);
	json_object_set_new(obj, "attachments", atts);
	message_free(msg);
}
