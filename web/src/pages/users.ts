// pages/users.ts - admin only: console users (GET /users), adding one
// (POST /users answers the TOTP secret and otpauth URI once; they are shown
// to the admin and never again) and deleting one (DELETE /users/{name}).

import { api, type User } from "../api";
import { type Ctx, errorText, notice, pageTitle } from "../app";
import { field, h } from "../dom";
import { t, type Key } from "../i18n";
import { confirmButton } from "../ui";

const ROLES = ["user", "approver", "admin"] as const;

export async function usersPage(ctx: Ctx): Promise<Node> {
	const r = await api<{ items?: User[]; users?: User[] } | User[]>("GET", "/users");
	const users = Array.isArray(r) ? r : r.items ?? r.users ?? [];
	const status = h("div", { class: "status-line" });
	const tbody = h("tbody");

	const row = (u: User): HTMLElement => {
		const tr = h("tr", { "data-user": u.name },
		    h("td", null, u.name),
		    h("td", null, t(`role.${u.role}` as Key)),
		    h("td", { class: "addr" }, u.email ?? ""),
		    h("td", null, u.lang ?? ""),
		    h("td", null, u.name === ctx.user.name ? null :
			confirmButton(t("users.delete"), t("users.delete.confirm", { name: u.name }), async () => {
				try {
					await api("DELETE", `/users/${encodeURIComponent(u.name)}`);
					tr.remove();
					status.replaceChildren(notice("ok", t("users.deleted", { name: u.name })));
				} catch (e) {
					status.replaceChildren(notice("error", errorText(e)));
				}
			})));
		return tr;
	};
	users.forEach((u) => tbody.appendChild(row(u)));

	const name = h("input", { name: "name", required: true, autocomplete: "off" });
	const password = h("input", { name: "password", type: "password", required: true, autocomplete: "new-password" });
	const role = h("select", { name: "role" }, ROLES.map((x) => h("option", { value: x }, t(`role.${x}` as Key))));
	const email = h("input", { name: "email", type: "email", autocomplete: "off" });
	const lang = h("select", { name: "lang" }, h("option", { value: "ja" }, t("lang.ja")), h("option", { value: "en" }, t("lang.en")));
	const form = h("form", { class: "add-user", onsubmit: async (ev: Event) => {
		ev.preventDefault();
		const u = { name: name.value.trim(), password: password.value, role: role.value,
		    email: email.value.trim(), lang: lang.value };
		try {
			const res = await api<{ totp_uri: string; totp_secret: string }>("POST", "/users", u);
			tbody.appendChild(row(u as User));
			status.replaceChildren(notice("ok", t("users.added", { name: u.name })),
			    h("dl", { class: "meta secret" },
				h("dt", null, t("users.secret")), h("dd", null, h("code", null, res.totp_secret)),
				h("dt", null, t("users.uri")), h("dd", null, h("code", { class: "wrap" }, res.totp_uri))));
			form.reset();
		} catch (e) {
			status.replaceChildren(notice("error", errorText(e)));
		}
	} },
	    h("div", { class: "filter-fields" },
		field(t("users.name"), name), field(t("users.password"), password),
		field(t("users.role"), role), field(t("users.email"), email), field(t("users.lang"), lang)),
	    h("div", { class: "filter-buttons" }, h("button", { type: "submit", class: "primary" }, t("users.add"))));

	return h("div", null,
	    pageTitle(t("users.title")),
	    status,
	    h("div", { class: "table-wrap" }, h("table", { class: "list", id: "users" },
		h("thead", null, h("tr", null, (["name", "role", "email", "lang", "actions"] as const).map((k) =>
		    h("th", { scope: "col" }, t(`users.${k}`))))),
		tbody)),
	    h("section", { class: "card", "aria-label": t("users.add") }, h("h2", null, t("users.add")), form));
}
