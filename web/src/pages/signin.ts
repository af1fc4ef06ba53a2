// Sign-in (a password, or an operator's token) and sign-up.

import { auth, begin, beginWithToken, describe } from "../api";
import { field, fill, h, values } from "../dom";

function errorBox(): HTMLElement {
  return h("div", { class: "errors", "aria-live": "assertive" });
}

function show(box: HTMLElement, e: unknown): void {
  fill(box, h("p", { class: "error", role: "alert" }, e instanceof Error && !("code" in e) ? e.message : describe(e)));
}

export async function signIn(main: HTMLElement): Promise<void> {
  const errors = errorBox();
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in"),
    field("Email", h("input", { name: "email", type: "email", autocomplete: "username", required: true })),
    field("Password", h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    errors,
    h("button", { type: "submit" }, "Sign in"),
    h("p", {}, "New here? ", h("a", { href: "#/register" }, "Sign up")),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = values(form);
    try {
      begin((await auth.login({ email: v.email, password: v.password })).tokens);
      location.hash = "#/";
    } catch (e) {
      show(errors, e);
    }
  });
  const tokenErrors = errorBox();
  const operator = h(
    "form",
    { class: "card narrow" },
    h("h2", {}, "Operators"),
    h("p", { class: "hint" }, "Paste a token from ", h("code", {}, "support-service token --role admin --subject NAME"), "."),
    field("Access token", h("input", { name: "token", type: "password", autocomplete: "off", required: true })),
    tokenErrors,
    h("button", { type: "submit" }, "Use token"),
  );
  operator.addEventListener("submit", (ev) => {
    ev.preventDefault();
    try {
      beginWithToken(values(operator).token);
      location.hash = "#/";
    } catch (e) {
      show(tokenErrors, e);
    }
  });
  fill(main, form, operator);
}

export async function register(main: HTMLElement): Promise<void> {
  const errors = errorBox();
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "register-title" },
    h("h1", { id: "register-title" }, "Sign up"),
    field("First name", h("input", { name: "first_name", autocomplete: "given-name", required: true })),
    field("Last name", h("input", { name: "last_name", autocomplete: "family-name", required: true })),
    field("Email", h("input", { name: "email", type: "email", autocomplete: "email", required: true })),
    field(
      "Password (12 characters or more)",
      h("input", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 12 }),
    ),
    errors,
    h("button", { type: "submit" }, "Create my account"),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = values(form);
    try {
      const r = await auth.register({ firstName: v.first_name, lastName: v.last_name, email: v.email, password: v.password });
      begin(r.tokens);
      location.hash = "#/tickets";
    } catch (e) {
      show(errors, e);
    }
  });
  fill(main, form);
}
