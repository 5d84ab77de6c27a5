// pages/approvals.ts - outbound mail waiting for an approver: the list with
// the risk and the symbols that made it (DLP hits, a first-time domain, a
// file to an outside address...) and the deadline, and one request with a
// safe preview of the mail and the decision (approve / reject with an
// optional comment that the sender is told).
//
// The server lists what this approver (or a delegate) may decide, and an
// admin all; it refuses self-approval, which shows as an error here.

import { api, type HoldDetail, type HoldItem, type Page as ListPage, query } from "../api";
import { type Ctx, errorText, go, href, notice, pageTitle } from "../app";
import { field, h } from "../dom";
import { t } from "../i18n";
import { previewTabs } from "./quarantine";
import { attachmentNames, attachmentsCard, backLink, holdMeta, reasonChips, riskBadge, riskCard,
    statusBadge, subjectOf, timeline, when, withDetails } from "./holds";
import { confirmButton, offsetOf, pager, runAction } from "../ui";

const LIMIT = 50;

export async function approvalsPage(ctx: Ctx): Promise<Node> {
	const p = ctx.route.params;
	const offset = offsetOf(p);
	const all = p.get("state") === "all";
	const r = await api<ListPage<HoldItem>>("GET",
	    `/approvals${query({ state: all ? "all" : "held", limit: LIMIT, offset })}`);
	const items = await withDetails(r.items ?? []);

	const toggle = h("label", { class: "check" },
	    h("input", { type: "checkbox", name: "all", checked: all, onchange: (ev: Event) =>
		go("approvals", { state: (ev.target as HTMLInputElement).checked ? "all" : "" }) }),
	    ` ${t("appr.showall")}`);

	const table = items.length === 0 ? h("p", { class: "muted empty" }, t("appr.none")) :
	    h("div", { class: "table-wrap" }, h("table", { class: "list", id: "approvals-list" },
		h("thead", null, h("tr", null,
		    h("th", { scope: "col" }, t("q.subject")),
		    h("th", { scope: "col" }, t("q.from")),
		    h("th", { scope: "col" }, t("q.rcpts")),
		    h("th", { scope: "col" }, t("q.attachments")),
		    h("th", { scope: "col", class: "num" }, t("hold.risk")),
		    h("th", { scope: "col" }, t("hold.reasons")),
		    h("th", { scope: "col" }, t("hold.when")),
		    all ? h("th", { scope: "col" }, t("hold.status")) : null)),
		h("tbody", null, items.map((m) => h("tr", { "data-id": m.id },
		    h("td", null, h("a", { href: href(`approvals/${encodeURIComponent(m.id)}`),
			"aria-label": t("appr.open", { subject: subjectOf(m) }) }, subjectOf(m))),
		    h("td", { class: "addr" }, m.from),
		    h("td", { class: "addr" }, (m.rcpts ?? []).join(", ")),
		    h("td", null, attachmentNames(m)),
		    h("td", { class: "num" }, riskBadge(m.risk)),
		    h("td", null, reasonChips(m.reasons)),
		    h("td", { class: "nowrap" }, when(m)),
		    all ? h("td", null, statusBadge(m.status)) : null)))));

	return h("div", null,
	    h("div", { class: "page-head" }, pageTitle(t("appr.title")), toggle),
	    h("p", { class: "muted" }, t("appr.intro")),
	    table,
	    pager("approvals", p, r.total ?? items.length, offset, LIMIT, items.length));
}

// decision: the comment and the two buttons; reject asks inline first.
function decision(m: HoldDetail, status: HTMLElement): HTMLElement {
	const acts = m.actions ?? [];
	if (m.status !== "held")
		return h("p", { class: "muted" }, t("appr.decided"));
	if (!acts.includes("approve") && !acts.includes("reject"))
		return h("p", { class: "muted", "data-noact": "" }, t("appr.cannot"));
	const comment = h("textarea", { name: "comment", rows: 3, maxlength: "1000" });
	const box = h("div", { class: "actions" });
	const path = `/approvals/${encodeURIComponent(m.id)}`;
	const done = () => {
		comment.disabled = true;
		setTimeout(() => go("approvals"), 1500);
	};
	const decide = (what: "approve" | "reject", text: string) =>
	    runAction(box, status, () => api("POST", `${path}/${what}`, { comment: comment.value.trim() }), text, done);
	if (acts.includes("approve"))
		box.appendChild(h("button", { type: "button", class: "primary", "data-act": "approve",
		    onclick: () => decide("approve", t("appr.approved")) }, t("appr.approve")));
	if (acts.includes("reject")) {
		const c = confirmButton(t("appr.reject"), t("appr.reject.confirm"),
		    () => decide("reject", t("appr.rejected")));
		c.dataset.act = "reject";
		box.appendChild(c);
	}
	return h("section", { class: "card decision", "aria-label": t("appr.decision") },
	    h("h2", null, t("appr.decision")),
	    field(t("appr.comment"), comment, t("appr.comment.hint")),
	    box, status);
}

export async function approvalDetailPage(ctx: Ctx): Promise<Node> {
	const id = ctx.route.path[1];
	let m: HoldDetail;
	try {
		m = await api<HoldDetail>("GET", `/holds/${encodeURIComponent(id)}`);
	} catch (e) {
		return h("div", null, backLink("approvals"), notice("error", errorText(e)));
	}
	const status = h("div", { class: "status-line" });
	return h("div", { class: "detail approval-detail" },
	    backLink("approvals"),
	    pageTitle(subjectOf(m)),
	    holdMeta(m),
	    decision(m, status),
	    riskCard(m),
	    attachmentsCard(m),
	    previewTabs(m),
	    timeline(m));
}
