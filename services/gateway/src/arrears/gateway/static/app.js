// Progressive enhancement only: every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // The promise fields matter only when the new status is "promised to pay".
  const status = document.getElementById("status-status");
  const promise = document.querySelector("#action-status fieldset.promise");
  if (status && promise) {
    const sync = () => { promise.hidden = status.value !== "promised_to_pay"; };
    status.addEventListener("change", sync);
    sync();
  }
  // The reminder draft's mail link follows the subject and text as they are edited.
  const link = document.getElementById("draft-mailto");
  const subject = document.getElementById("draft-subject");
  const body = document.getElementById("draft-body");
  if (link && subject && body) {
    const update = () => {
      const text = body.value.replace(/\r?\n/g, "\r\n");
      link.href = "mailto:" + encodeURIComponent(link.dataset.recipient || "").replace("%40", "@") +
        "?subject=" + encodeURIComponent(subject.value) + "&body=" + encodeURIComponent(text);
    };
    subject.addEventListener("input", update);
    body.addEventListener("input", update);
  }
});
