/* The waiting-room screen: shows each call the moment it is made, says it aloud in Chinese, and
 * keeps the doctors' board fresh. Needs live.js.
 *
 * Browsers only speak after someone has touched the page once (autoplay rules): the screen
 * asks for one tap ("tap to turn the voice on") until then. A kiosk started with Chromium's
 * --autoplay-policy=no-user-gesture-required speaks from the start.
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-screen]");
  if (!root) return;

  var board = document.getElementById("screen-board");
  var banner = document.getElementById("call-banner");
  var bannerCode = document.getElementById("call-code");
  var bannerName = document.getElementById("call-name");
  var bannerRoom = document.getElementById("call-room");
  var bannerText = document.getElementById("call-text");
  var voiceButton = document.getElementById("voice-on");
  var clock = document.getElementById("screen-clock");
  var SPEAK_WITHIN_SECONDS = 120; // a call replayed after a long outage is shown, not said
  var REPEAT = parseInt(root.getAttribute("data-repeat") || "2", 10);

  // --- voice ---------------------------------------------------------------------------------
  var synth = window.speechSynthesis;
  var chineseVoice = null;

  function pickVoice() {
    if (!synth || !synth.getVoices) return;
    var voices = synth.getVoices() || [];
    var best = null;
    for (var i = 0; i < voices.length; i++) {
      var lang = (voices[i].lang || "").replace("_", "-").toLowerCase();
      if (lang === "zh-cn") {
        best = voices[i];
        break;
      }
      if (!best && lang.indexOf("zh") === 0) best = voices[i];
    }
    chineseVoice = best;
  }

  if (synth) {
    pickVoice();
    if (typeof synth.addEventListener === "function") {
      synth.addEventListener("voiceschanged", pickVoice);
    } else {
      synth.onvoiceschanged = pickVoice;
    }
  }

  function voiceAllowed() {
    var activation = navigator.userActivation;
    return !activation || activation.hasBeenActive;
  }

  function speak(text) {
    if (!synth || !window.SpeechSynthesisUtterance || !text) return;
    for (var i = 0; i < REPEAT; i++) {
      var utterance = new window.SpeechSynthesisUtterance(text);
      utterance.lang = "zh-CN";
      if (chineseVoice) utterance.voice = chineseVoice;
      utterance.rate = 0.85;
      utterance.volume = 1;
      synth.speak(utterance);
    }
  }

  function updateVoiceButton() {
    if (!voiceButton) return;
    voiceButton.hidden = !synth || voiceAllowed();
  }

  if (voiceButton) {
    voiceButton.addEventListener("click", function () {
      speak(voiceButton.getAttribute("data-test-phrase"));
      voiceButton.hidden = true;
    });
  }
  updateVoiceButton();

  // --- the call banner -------------------------------------------------------------------------
  var flashTimer = null;

  function showCall(call) {
    bannerCode.textContent = call.code;
    bannerName.textContent = call.name;
    bannerRoom.textContent = call.room_text || call.room || "";
    bannerText.textContent = call.text || "";
    banner.setAttribute("data-code", call.code);
    banner.classList.remove("is-empty");
    banner.classList.remove("is-new");
    void banner.offsetWidth; // restart the highlight animation
    banner.classList.add("is-new");
    if (flashTimer) window.clearTimeout(flashTimer);
    flashTimer = window.setTimeout(function () {
      banner.classList.remove("is-new");
    }, 12000);
  }

  // --- the board ---------------------------------------------------------------------------------
  var refresh = window.SmartClinicLive.refresher(board, root.getAttribute("data-board-url"));

  window.SmartClinicLive.connect(root.getAttribute("data-stream-url"), {
    lastId: parseInt(root.getAttribute("data-last-id") || "0", 10),
    onState: window.SmartClinicLive.stateBadge(document.getElementById("live-state")),
    onMessage: function (data) {
      if (data.kind === "called" || data.kind === "recalled") {
        showCall(data);
        if ((data.age || 0) <= SPEAK_WITHIN_SECONDS) speak(data.say || data.text);
      }
      refresh();
    },
  });

  // --- the clock -----------------------------------------------------------------------------------
  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function tick() {
    if (!clock) return;
    var now = new Date();
    clock.textContent = pad(now.getHours()) + ":" + pad(now.getMinutes());
  }

  tick();
  window.setInterval(function () {
    tick();
    updateVoiceButton();
  }, 5000);

  window.SmartClinicScreen = { speak: speak, showCall: showCall };
})();
