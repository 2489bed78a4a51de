// Draws every <div data-chart="ID"> from the JSON in <script type="application/json" id="ID">
// (Django's json_script). Tooltips render on the canvas, so the CSP needs no inline styles.
document.addEventListener("DOMContentLoaded", () => {
  for (const el of document.querySelectorAll("[data-chart]")) {
    const data = JSON.parse(document.getElementById(el.dataset.chart).textContent);
    const chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      tooltip: { trigger: "axis", renderMode: "richText" },
      grid: { left: 8, right: 8, top: 24, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: data.labels, axisLabel: { interval: 0, rotate: 45 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "bar", name: data.series, data: data.values, itemStyle: { color: "#b91c1c" } }],
    });
    window.addEventListener("resize", () => chart.resize());
  }
});
