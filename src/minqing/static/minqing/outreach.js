// Outreach: the visit form keeps a draft in localStorage (it survives a dropped signal and a
// reload), takes the phone's position if it gives one, and the signature pad; the coverage
// chart. No inline scripts: the CSP forbids them.
(() => {
  const PREFIX = "minqing-draft:";

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function fields(form) {
    return [...form.elements].filter((el) => el.name && el.type !== "file" && el.name !== "csrfmiddlewaretoken");
  }

  function save(form) {
    const data = {};
    for (const el of fields(form)) {
      if (el.type === "checkbox" || el.type === "radio") {
        (data[el.name] ||= []);
        if (el.checked) data[el.name].push(el.value);
      } else {
        data[el.name] = el.value;
      }
    }
    localStorage.setItem(PREFIX + form.dataset.draft, JSON.stringify(data));
  }

  function restore(form) {
    let data = null;
    try { data = JSON.parse(localStorage.getItem(PREFIX + form.dataset.draft) || "null"); } catch (e) { data = null; }
    const clientId = form.elements.namedItem("client_id");
    if (!data) {
      if (clientId && !clientId.value) clientId.value = newId();
      save(form);
      return;
    }
    // A form the server sent back with errors holds what was posted: keep it.
    const bound = form.querySelector(".field.invalid, .errors");
    if (!bound) {
      for (const el of fields(form)) {
        if (!(el.name in data)) continue;
        if (el.type === "checkbox" || el.type === "radio") el.checked = data[el.name].includes(el.value);
        else el.value = data[el.name];
      }
      const note = document.querySelector("[data-draft-note]");
      if (note) note.hidden = false;
    }
    if (clientId && !clientId.value) clientId.value = data.client_id || newId();
    save(form);
  }

  function geolocate(form) {
    const lat = form.elements.namedItem("latitude");
    const lon = form.elements.namedItem("longitude");
    const status = form.querySelector("[data-geo-status]");
    if (!lat || !lon || lat.value || !navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        lat.value = pos.coords.latitude.toFixed(6);
        lon.value = pos.coords.longitude.toFixed(6);
        if (status) status.textContent = "已记录定位";
        save(form);
      },
      () => { if (status) status.textContent = "未取得定位（可不填）"; },
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 },
    );
  }

  function signaturePad(form) {
    const canvas = form.querySelector("canvas");
    const ctx = canvas.getContext("2d");
    let drawing = false, drawn = false;
    ctx.lineWidth = 2; ctx.lineCap = "round";
    const point = (e) => {
      const r = canvas.getBoundingClientRect();
      return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
    };
    canvas.addEventListener("pointerdown", (e) => { drawing = true; ctx.beginPath(); ctx.moveTo(...point(e)); });
    canvas.addEventListener("pointermove", (e) => { if (drawing) { ctx.lineTo(...point(e)); ctx.stroke(); drawn = true; } });
    window.addEventListener("pointerup", () => { drawing = false; });
    form.querySelector("[data-signature-clear]").addEventListener("click", () => {
      ctx.clearRect(0, 0, canvas.width, canvas.height); drawn = false;
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (!drawn) return;
      canvas.toBlob((blob) => {
        const files = new DataTransfer();
        files.items.add(new File([blob], "signature.png", { type: "image/png" }));
        form.elements.namedItem("signature").files = files.files;
        form.submit();
      }, "image/png");
    });
  }

  const DAY = 24 * 3600 * 1000;
  // "YYYY-MM-DD" as the reader's local midnight, where the time axis puts its day ticks.
  const localDay = (iso) => {
    const [y, m, d] = iso.split("-").map(Number);
    return new Date(y, m - 1, d).getTime();
  };

  // The coverage over time (selectors.coverage_series): only days with visits are sent; the
  // time axis gives every day of the campaign its width, so a week without visits shows.
  function chart(el) {
    const data = JSON.parse(document.getElementById(el.dataset.coverageChart).textContent);
    const days = data.labels.map(localDay);
    const c = echarts.init(el, null, { renderer: "canvas" });
    c.setOption({
      tooltip: { trigger: "axis", renderMode: "richText" },
      // ECharts 6 puts the legend at the bottom, over the dates: keep it in the band on top.
      legend: { top: 0, left: "center", data: ["已访户占比 %", "走访户次"] },
      // The grid's box holds the axis labels and names too (ECharts 6's outerBounds, which
      // replaces containLabel); its top leaves the legend's band free.
      grid: { left: 8, right: 8, top: 36, bottom: 8, outerBoundsMode: "same", outerBoundsContain: "all" },
      xAxis: {
        type: "time",
        // Half a day either side, so the first and last day's bars stay inside the axis.
        min: localDay(data.start) - DAY / 2,
        max: localDay(data.end) + DAY / 2,
        minInterval: DAY,
        axisLabel: {
          formatter: { year: "{yyyy}年", month: "{M}月", day: "{M}-{d}" },
          hideOverlap: true, showMinLabel: false, showMaxLabel: false,
        },
        // The tooltip's heading: the day, not its midnight.
        axisPointer: { label: { formatter: ({ value }) => echarts.time.format(value, "{yyyy}-{MM}-{dd}", false) } },
      },
      yAxis: [{ type: "value", max: 100, name: "%" }, { type: "value", minInterval: 1 }],
      series: [
        // The share only grows on a day with visits: flat until the next one.
        {
          type: "line", name: "已访户占比 %", step: "end", showSymbol: false,
          data: days.map((t, i) => [t, data.covered[i]]), itemStyle: { color: "#b91c1c" },
        },
        {
          type: "bar", name: "走访户次", yAxisIndex: 1,
          data: days.map((t, i) => [t, data.visits[i]]), itemStyle: { color: "#9ca3af" },
        },
      ],
    });
    window.addEventListener("resize", () => c.resize());
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const done of document.querySelectorAll("[data-draft-done]")) {
      localStorage.removeItem(PREFIX + done.dataset.draftDone);
    }
    for (const form of document.querySelectorAll("form[data-draft]")) {
      restore(form);
      form.addEventListener("input", () => save(form));
      form.addEventListener("change", () => save(form));
      if (form.hasAttribute("data-geo")) geolocate(form);
    }
    for (const form of document.querySelectorAll("form[data-signature]")) signaturePad(form);
    for (const el of document.querySelectorAll("[data-coverage-chart]")) chart(el);
  });
})();
