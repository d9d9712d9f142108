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
});
