/* Line editors for embedded lists: add a row from the <template>, remove a row. No inline handlers (CSP). */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var add = event.target.closest(".portal-lines-add");
    if (add) {
      var box = add.closest(".portal-lines");
      var body = box.querySelector("tbody");
      var next = Number(box.getAttribute("data-next") || body.rows.length);
      while (box.querySelector("[name^='" + box.dataset.prefix + "-" + next + "-']")) { next += 1; }
      var html = box.querySelector("template").innerHTML.split("__index__").join(String(next));
      body.insertAdjacentHTML("beforeend", html);
      box.setAttribute("data-next", String(next + 1));
      return;
    }
    var remove = event.target.closest(".portal-lines-remove");
    if (remove) { remove.closest("tr").remove(); }
  });
})();
