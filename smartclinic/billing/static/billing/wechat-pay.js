/* WeChat Pay inside WeChat: hand the signed JSAPI parameters to WeixinJSBridge; when the payer
   confirms, ask our server to check the payment (the notification usually got there first). */
(function () {
  "use strict";
  var button = document.querySelector("[data-wechat-pay]");
  var data = document.getElementById("wechat-jsapi");
  if (!button || !data) { return; }
  var params = JSON.parse(data.textContent);
  var check = document.getElementById("wechat-check-form");
  var note = document.getElementById("wechat-note");

  function say(text) { if (note) { note.textContent = text; note.hidden = false; } }

  function pay() {
    window.WeixinJSBridge.invoke("getBrandWCPayRequest", params, function (result) {
      if (result && result.err_msg === "get_brand_wcpay_request:ok") {
        if (check) { check.submit(); }
      } else if (result && result.err_msg === "get_brand_wcpay_request:cancel") {
        say(button.getAttribute("data-cancelled"));
      } else {
        say(button.getAttribute("data-failed"));
      }
    });
  }

  button.addEventListener("click", function () {
    if (typeof window.WeixinJSBridge === "undefined") {
      say(button.getAttribute("data-outside"));
      return;
    }
    pay();
  });
})();
