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
  // The strategy editor: add a step row (from the template) or remove one.
  const rows = document.querySelector("#strategy-rows tbody");
  const template = document.getElementById("step-row-template");
  const add = document.getElementById("add-step");
  if (rows && template && add) {
    const renumber = () => {
      rows.querySelectorAll("tr.step-row").forEach((row, index) => {
        row.cells[0].textContent = String(index + 1);
        row.querySelectorAll("[aria-label]").forEach((input) => {
          input.setAttribute("aria-label",
            input.getAttribute("aria-label").replace(/([Ss]tep) (\d+|new)/, "$1 " + (index + 1)));
        });
      });
    };
    const arm = (row) => {
      const remove = row.querySelector("button.remove-step");
      remove.hidden = false;
      remove.addEventListener("click", () => { row.remove(); renumber(); });
    };
    rows.querySelectorAll("tr.step-row").forEach(arm);
    add.hidden = false;
    add.addEventListener("click", () => {
      const row = template.content.querySelector("tr").cloneNode(true);
      rows.appendChild(row);
      arm(row);
      renumber();
      row.querySelector("select").focus();
    });
  }
});
