// The visitor's task list (templates/visits/home.html).
// - The name box filters the cards already on the page as one types, so it
//   works without the network (the form's GET ?q= does the same on the server).
// - "按我现在的位置排" asks the phone for its position and reloads the list with
//   ?lat=&lng=, so that the day's route starts where the visitor stands.
(function () {
  "use strict";

  var input = document.querySelector("[data-filter-cards]");

  function filter() {
    var words = input.value.trim();
    document.querySelectorAll("section.tasks").forEach(function (section) {
      var cards = section.querySelectorAll("li.task");
      var shown = 0;
      cards.forEach(function (card) {
        var match = !words || (card.dataset.name || "").indexOf(words) !== -1;
        card.hidden = !match;
        if (match) shown += 1;
      });
      var count = section.querySelector("h2 .count");
      if (count) count.textContent = String(shown);
      var none = section.querySelector(".no-match");
      if (none) none.hidden = !(cards.length && shown === 0);
    });
  }

  if (input) {
    input.addEventListener("input", filter);
  }

  var here = document.getElementById("route-here");
  if (here && "geolocation" in navigator) {
    here.hidden = false;
    here.addEventListener("click", function () {
      here.disabled = true;
      here.textContent = "正在定位…";
      navigator.geolocation.getCurrentPosition(
        function (position) {
          var params = new URLSearchParams(window.location.search);
          params.set("lat", position.coords.latitude.toFixed(6));
          params.set("lng", position.coords.longitude.toFixed(6));
          params.delete("saved");
          window.location.search = params.toString();
        },
        function () {
          here.disabled = false;
          here.textContent = "未能定位，请重试";
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
      );
    });
  }
})();
