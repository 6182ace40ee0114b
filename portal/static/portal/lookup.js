/* Search-as-you-type selects (class portal-lookup): Select2 asks /lookup/<kind>/?q=…; also for rows a line
   editor adds later. No inline script (CSP). */
(function ($) {
  "use strict";
  function init(select) {
    var $select = $(select);
    if ($select.hasClass("select2-hidden-accessible")) { return; }
    $select.select2({
      theme: "bootstrap",
      width: "100%",
      allowClear: true,
      placeholder: $select.data("placeholder") || "",
      minimumInputLength: 1,
      ajax: {
        url: $select.data("url"),
        dataType: "json",
        delay: 250,
        data: function (params) { return {q: params.term || "", page: params.page || 1}; }
      }
    });
  }
  $(function () {
    $("select.portal-lookup").each(function () { init(this); });
    new MutationObserver(function (mutations) {
      mutations.forEach(function (m) {
        $(m.addedNodes).find("select.portal-lookup").addBack("select.portal-lookup").each(function () { init(this); });
      });
    }).observe(document.body, {childList: true, subtree: true});
  });
})(jQuery);
