// The report form and the case page: say at once when chosen files cannot be
// sent (the server checks them again, by content), count the characters of
// the comment, show the technical team's questions only for the problems that
// need them, and bring the error summary into view.
(function () {
  "use strict";
  var MAX_FILES = 5;
  var MAX_BYTES = 10 * 1024 * 1024;
  var ACCEPTED = ["application/pdf", "image/png", "image/jpeg", "image/webp"];

  function checkFiles(input, out) {
    var problems = [];
    var files = Array.prototype.slice.call(input.files || []);
    if (files.length > MAX_FILES) {
      problems.push(out.dataset.tooMany);
    }
    files.forEach(function (file) {
      if (file.size > MAX_BYTES) {
        problems.push(out.dataset.tooBig.replace("%s", file.name));
      } else if (file.type && ACCEPTED.indexOf(file.type) === -1) {
        problems.push(out.dataset.badType.replace("%s", file.name));
      }
    });
    out.textContent = problems.join(" ");
  }

  // A live count under a text box with data-max-length. The server refuses a
  // longer text and says so; there is no maxlength to cut a paste silently.
  function countCharacters(box) {
    var max = parseInt(box.dataset.maxLength, 10);
    var lang = document.documentElement.lang || undefined;
    var counter = document.createElement("p");
    counter.className = "help char-count";
    counter.id = box.id + "_count";
    box.insertAdjacentElement("afterend", counter);
    var described = box.getAttribute("aria-describedby");
    box.setAttribute("aria-describedby", (described ? described + " " : "") + counter.id);

    function update() {
      var count = box.value.length;
      var over = count - max;
      var template = over > 0 ? box.dataset.overText : box.dataset.countText;
      counter.textContent = template
        .replace("{count}", count.toLocaleString(lang))
        .replace("{max}", max.toLocaleString(lang))
        .replace("{over}", over.toLocaleString(lang));
      counter.classList.toggle("char-count-over", over > 0);
      if (over > 0) {
        box.setAttribute("aria-invalid", "true");
      } else if (!box.dataset.serverInvalid) {
        box.removeAttribute("aria-invalid");
      }
    }
    box.dataset.serverInvalid = box.getAttribute("aria-invalid") || "";
    box.addEventListener("input", update);
    update();
  }

  // A fieldset with data-show-for="problem other" is shown only when one of
  // those problems is chosen; hidden, its inputs are disabled so that they
  // are not sent. Without JavaScript it stays, and its legend says when.
  function showForProblems(fieldset) {
    var problems = fieldset.dataset.showFor.split(" ");
    var radios = document.querySelectorAll("input[name=problem]");
    function update() {
      var checked = document.querySelector("input[name=problem]:checked");
      var shown = checked !== null && problems.indexOf(checked.value) !== -1;
      fieldset.hidden = !shown;
      fieldset.disabled = !shown;
    }
    Array.prototype.forEach.call(radios, function (radio) {
      radio.addEventListener("change", update);
    });
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(
      document.querySelectorAll("textarea[data-max-length]"), countCharacters
    );
    // Each file input with its message box, <input id>_clientcheck.
    Array.prototype.forEach.call(
      document.querySelectorAll("input[type=file]"), function (input) {
        var out = document.getElementById(input.id + "_clientcheck");
        if (out) {
          input.addEventListener("change", function () { checkFiles(input, out); });
        }
      }
    );
    Array.prototype.forEach.call(
      document.querySelectorAll("fieldset[data-show-for]"), showForProblems
    );
    var summary = document.getElementById("error-summary");
    if (summary) {
      summary.focus();
    }
  });
})();
