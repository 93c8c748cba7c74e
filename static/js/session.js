// The session's end, as valley.accounts.sessions decides it: a warning shortly before the idle limit with a
// button that keeps the session, and a form posted when the session had run out filled in again after login.
(function () {
  "use strict";
  var box = document.getElementById("session-warning");
  if (box) {
    var left = parseInt(box.dataset.secondsLeft, 10);
    var warnAt = parseInt(box.dataset.warnSeconds, 10);
    var since = Date.now();
    var text = box.querySelector("[data-countdown]");
    var keep = box.querySelector("[data-keep]");
    var tick = function () {
      var remaining = left - Math.floor((Date.now() - since) / 1000);
      if (remaining <= 0) {
        text.textContent = box.dataset.textOver;
        keep.hidden = true;
        box.hidden = false;
        return;
      }
      if (remaining <= warnAt) {
        text.textContent = box.dataset.textLeft.replace("%(minutes)s", String(Math.ceil(remaining / 60)));
        box.hidden = false;
      }
      window.setTimeout(tick, 1000);
    };
    keep.addEventListener("click", function () {
      window.fetch(box.dataset.keepalive, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (answer) {
          if (answer) {
            left = answer.seconds_left;
            since = Date.now();
            box.hidden = true;
          }
        });
    });
    tick();
  }

  var kept = document.getElementById("restored-form");
  if (kept) {
    var data = JSON.parse(kept.textContent);
    var forms = Array.prototype.filter.call(document.querySelectorAll("form"), function (form) {
      return (form.method || "").toLowerCase() === "post" && !form.classList.contains("lang-form") &&
        !form.classList.contains("inline");
    });
    forms.forEach(function (form) {
      Object.keys(data).forEach(function (name) {
        var values = data[name];
        Array.prototype.forEach.call(form.querySelectorAll("[name]"), function (field) {
          if (field.name !== name || field.type === "file" || field.type === "hidden") { return; }
          if (field.type === "checkbox" || field.type === "radio") {
            field.checked = values.indexOf(field.value) !== -1;
          } else if (field.tagName === "SELECT" && field.multiple) {
            Array.prototype.forEach.call(field.options, function (option) {
              option.selected = values.indexOf(option.value) !== -1;
            });
          } else {
            field.value = values[0];
          }
        });
      });
    });
  }
}());
