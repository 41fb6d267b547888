// The report form: say at once when chosen files cannot be sent (the server
// checks them again, by content), and bring the error summary into view.
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

  document.addEventListener("DOMContentLoaded", function () {
    var input = document.getElementById("id_attachments");
    var out = document.getElementById("id_attachments_clientcheck");
    if (input && out) {
      input.addEventListener("change", function () { checkFiles(input, out); });
    }
    var summary = document.getElementById("error-summary");
    if (summary) {
      summary.focus();
    }
  });
})();
