// One place where errors become words, or lead to the sign-in page.

import { describe, isSignedOut, signOut } from "./api";
import { fill, h, toast } from "./dom";

/** The session is over: say so and lead to the sign-in page. */
export function signedOut(): void {
  toast("Your session has ended; please sign in.");
  void signOut().finally(() => (location.hash = "#/signin"));
}

/** Shows an error in words and returns them; a lost session leads to the sign-in page. */
export function report(e: unknown, where?: HTMLElement): string | undefined {
  if (isSignedOut(e)) {
    signedOut();
    return undefined;
  }
  const text = describe(e);
  if (where) {
    fill(where, h("p", { class: "error", role: "alert" }, text));
  } else {
    toast(text);
  }
  return text;
}

