// AI Chef playground: sends the form to the local API front (sync, async or the function URL
// stream), then shows the verified recipe, its energy split, per-serving nutrients against
// the limits of its checks, the checks themselves, and the model's tokens and cost.
// Plain JavaScript, no build step; every text the page shows is in both languages below.
"use strict";

const TEXT = {
  ko: {
    title: "AI 셰프 플레이그라운드",
    lead: "모델이 쓴 레시피를 식품 성분표로 계산하고 규칙으로 검증합니다. 200은 언제나 조리해도 안전합니다.",
    request: "요청", target: "식단 목표", conditions: "건강 상태 (쉼표로 구분)",
    allergies: "알레르기 (쉼표로 구분)", servings: "인분", language: "레시피 언어", model: "모델",
    modelDefault: "기본값", mode: "방식", modeSync: "동기", modeAsync: "비동기", modeStream: "스트림",
    submit: "레시피 만들기", progress: "진행", error: "오류", ingredients: "재료",
    instructions: "조리 순서", energySplit: "에너지 구성 (kcal)", perServing: "1인분 영양 성분과 한도",
    checks: "검증 결과", rule: "규칙", result: "결과", value: "값", limit: "한도", meta: "모델과 비용",
    pass: "통과", fail: "실패", minutes: "분", servingsUnit: "인분",
    protein: "단백질", fat: "지방", carbs: "탄수화물",
    kcal: "열량", proteinG: "단백질", fatG: "지방", carbsG: "탄수화물", netCarbsG: "순탄수화물",
    fiberG: "식이섬유", sugarG: "당류", sodiumMg: "나트륨",
    fatShare: "지방 에너지 비율", proteinShare: "단백질 에너지 비율", carbsShare: "탄수화물 에너지 비율",
    modelId: "모델", attempts: "시도", cached: "캐시", latencyMs: "지연 (ms)",
    inputTokens: "입력 토큰", outputTokens: "출력 토큰", cacheReadInputTokens: "캐시 읽기 토큰",
    cacheWriteInputTokens: "캐시 쓰기 토큰", costUsd: "비용 (USD)", yes: "예", no: "아니요",
    sent: "요청을 보냈습니다", accepted: "접수됨: ", pending: "대기 중…", attempt: "시도 ",
    tokensSoFar: "출력 토큰 ", failedChecks: "실패한 검증 — 수정 요청: ", done: "완료",
    unmatched: "성분표에 없는 재료: ", network: "서버에 연결할 수 없습니다",
    timeout: "시간 안에 결과가 오지 않았습니다", notStream: "스트림이 아닌 응답을 받았습니다",
  },
  en: {
    title: "AI Chef playground",
    lead: "A model writes the recipe; nutrition comes from a food table and every rule is checked. A 200 is always safe to cook.",
    request: "Request", target: "Diet target", conditions: "Health conditions (comma separated)",
    allergies: "Allergies (comma separated)", servings: "Servings", language: "Recipe language", model: "Model",
    modelDefault: "default", mode: "Mode", modeSync: "sync", modeAsync: "async", modeStream: "stream",
    submit: "Make a recipe", progress: "Progress", error: "Error", ingredients: "Ingredients",
    instructions: "Steps", energySplit: "Energy split (kcal)", perServing: "Per serving, against the limits",
    checks: "Checks", rule: "Rule", result: "Result", value: "Value", limit: "Limit", meta: "Model and cost",
    pass: "pass", fail: "fail", minutes: "min", servingsUnit: "servings",
    protein: "Protein", fat: "Fat", carbs: "Carbs",
    kcal: "Energy", proteinG: "Protein", fatG: "Fat", carbsG: "Carbs", netCarbsG: "Net carbs",
    fiberG: "Fibre", sugarG: "Sugar", sodiumMg: "Sodium",
    fatShare: "Fat energy share", proteinShare: "Protein energy share", carbsShare: "Carb energy share",
    modelId: "Model", attempts: "Attempts", cached: "Cached", latencyMs: "Latency (ms)",
    inputTokens: "Input tokens", outputTokens: "Output tokens", cacheReadInputTokens: "Cache-read tokens",
    cacheWriteInputTokens: "Cache-write tokens", costUsd: "Cost (USD)", yes: "yes", no: "no",
    sent: "Request sent", accepted: "Accepted: ", pending: "pending…", attempt: "Attempt ",
    tokensSoFar: "output tokens ", failedChecks: "Checks failed — asking for a repair: ", done: "done",
    unmatched: "Not in the food table: ", network: "Cannot reach the server",
    timeout: "No result in time", notStream: "The answer was not a stream",
  },
};

const UNITS = { kcal: "kcal", proteinG: "g", fatG: "g", carbsG: "g", netCarbsG: "g", fiberG: "g", sugarG: "g", sodiumMg: "mg" };
const COLORS = { protein: "var(--protein)", fat: "var(--fat)", carbs: "var(--carbs)" };
const KCAL_PER_GRAM = { protein: 4, fat: 9, carbs: 4 };
const ASYNC_POLL_MS = 1000;
const ASYNC_LIMIT_MS = 180000;

let lang = localStorage.getItem("aiChefLang") === "en" ? "en" : "ko";
let lastResult = null;

const $ = (id) => document.getElementById(id);
const t = (key) => TEXT[lang][key] ?? key;

function applyLanguage(next) {
  lang = next;
  localStorage.setItem("aiChefLang", lang);
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const button of document.querySelectorAll(".lang button")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === lang));
  }
  if (lastResult) render(lastResult);
}

function list(text) {
  return text.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

function requestBody(mode) {
  const body = {
    target: $("target").value,
    profile: { healthConditions: list($("conditions").value), allergies: list($("allergies").value) },
    servings: Number($("servings").value || 2),
    language: $("language").value,
  };
  if ($("model").value) body.model = $("model").value;
  if (mode === "async") body.mode = "async";
  return body;
}

function clearOutput() {
  $("progress").replaceChildren();
  $("progress-section").hidden = true;
  $("error-section").hidden = true;
  $("result").hidden = true;
  lastResult = null;
}

function step(text) {
  $("progress-section").hidden = false;
  const item = document.createElement("li");
  item.textContent = text;
  $("progress").append(item);
  return item;
}

function showError(status, error) {
  const section = $("error-section");
  section.hidden = false;
  $("error-status").textContent = status ? String(status) : "";
  $("error-code").textContent = error?.code ?? "";
  $("error-message").textContent = error?.message ?? String(error ?? "");
  const details = $("error-details");
  details.replaceChildren();
  for (const detail of error?.details ?? []) {
    const item = document.createElement("li");
    item.textContent = detail.field
      ? `${detail.field}: ${detail.message}`
      : `${detail.rule}: ${detail.value} / ${detail.limit}`;
    details.append(item);
  }
}

async function answerJson(response) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return { error: { code: "", message: text } };
  }
}

async function submitSync(body) {
  const response = await fetch("/recipes", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  const json = await answerJson(response);
  if (response.ok) render(json);
  else showError(response.status, json.error ?? { message: json.message });
}

async function submitAsync(body) {
  const response = await fetch("/recipes", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  const json = await answerJson(response);
  if (response.status !== 202) {
    if (response.ok) render(json);
    else showError(response.status, json.error ?? { message: json.message });
    return;
  }
  const location = response.headers.get("location") || json.location;
  step(t("accepted") + json.requestId);
  const waiting = step(t("pending"));
  const started = Date.now();
  while (Date.now() - started < ASYNC_LIMIT_MS) {
    await new Promise((resolve) => setTimeout(resolve, ASYNC_POLL_MS));
    const poll = await fetch(location);
    const state = await answerJson(poll);
    if (!poll.ok) {
      showError(poll.status, state.error ?? { message: state.message });
      return;
    }
    waiting.textContent = `${t("pending")} ${Math.round((Date.now() - started) / 1000)} s`;
    if (state.status === "succeeded") {
      step(t("done"));
      render(state.result);
      return;
    }
    if (state.status === "failed") {
      showError(state.error?.status ?? "", state.error);
      return;
    }
  }
  showError("", { message: t("timeout") });
}

// Server-Sent Events from the function URL: `event:` and `data:` lines, blank line between.
async function submitStream(body) {
  const response = await fetch("/lambda-url/recipes", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify(body),
  });
  const type = response.headers.get("content-type") || "";
  if (!type.startsWith("text/event-stream")) {
    step(t("notStream"));
    const json = await answerJson(response);
    if (response.ok) render(json);
    else showError(response.status, json.error ?? { message: json.message });
    return;
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let tokensLine = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let boundary;
    while ((boundary = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary).replace(/^\r?\n\r?\n/, "");
      let name = "message";
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      let payload = null;
      try { payload = JSON.parse(data.join("\n")); } catch { payload = null; }
      if (name === "attempt") {
        step(`${t("attempt")}${payload?.attempt} · ${payload?.modelId ?? ""}`);
        tokensLine = null;
      } else if (name === "progress") {
        tokensLine ??= step("");
        tokensLine.textContent = `${t("attempt")}${payload?.attempt} · ${t("tokensSoFar")}${payload?.outputTokens}`;
      } else if (name === "checks") {
        step(t("failedChecks") + (payload?.failed ?? []).map((c) => c.rule).join(", "));
      } else if (name === "recipe") {
        step(t("done"));
        render(payload);
      } else if (name === "error") {
        showError(payload?.status ?? "", payload);
      }
    }
  }
}

function fmt(value, digits = 1) {
  if (typeof value !== "number" || !Number.isFinite(value)) return String(value ?? "");
  return Math.abs(value) < 1 && value !== 0 ? value.toFixed(2) : value.toFixed(digits).replace(/\.0$/, "");
}

// `netCarbsPerServing<=5g` -> {metric: "netCarbsPerServing", op: "<="}
function parseRule(rule) {
  const match = /^([A-Za-z]+)(<=|>=|<|>)/.exec(rule);
  return match ? { metric: match[1], op: match[2] } : null;
}

function nutrientOfMetric(metric, perServing) {
  if (!metric.endsWith("PerServing")) return null;
  const base = metric.slice(0, -"PerServing".length);
  for (const key of [base, base + "G", base + "Mg"]) if (key in perServing) return key;
  return null;
}

function svgElement(name, attributes) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", name);
  for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, String(value));
  return el;
}

function renderEnergy(nutrition) {
  const svg = $("energy-svg");
  const legend = $("energy-legend");
  svg.replaceChildren();
  legend.replaceChildren();
  const per = nutrition.perServing;
  const grams = { protein: per.proteinG, fat: per.fatG, carbs: per.carbsG };
  const share = nutrition.energyShare;
  let angle = -Math.PI / 2;
  const [cx, cy, r] = [100, 100, 80];
  for (const macro of ["protein", "fat", "carbs"]) {
    const fraction = Math.max(0, share[macro] ?? 0);
    const kcal = (grams[macro] ?? 0) * KCAL_PER_GRAM[macro];
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = COLORS[macro];
    item.append(swatch, `${t(macro)} ${fmt(kcal, 0)} kcal (${Math.round(fraction * 100)}%)`);
    legend.append(item);
    if (fraction <= 0) continue;
    if (fraction >= 0.9999) {
      svg.append(svgElement("circle", { cx, cy, r, fill: COLORS[macro], "data-macro": macro }));
      continue;
    }
    const end = angle + fraction * 2 * Math.PI;
    const large = fraction > 0.5 ? 1 : 0;
    const d = `M ${cx} ${cy} L ${cx + r * Math.cos(angle)} ${cy + r * Math.sin(angle)} A ${r} ${r} 0 ${large} 1 ${cx + r * Math.cos(end)} ${cy + r * Math.sin(end)} Z`;
    const path = svgElement("path", { d, fill: COLORS[macro], "data-macro": macro });
    const title = svgElement("title", {});
    title.textContent = `${t(macro)} ${Math.round(fraction * 100)}%`;
    path.append(title);
    svg.append(path);
    angle = end;
  }
  svg.append(svgElement("circle", { cx, cy, r: 42, fill: "white" }));
  const label = svgElement("text", { x: cx, y: cy + 6, "text-anchor": "middle", "font-size": 18, "font-weight": 600 });
  label.textContent = `${fmt(per.kcal, 0)} kcal`;
  svg.append(label);
}

function barRow(label, value, unit, limit, passed) {
  const row = document.createElement("div");
  row.className = "bar-row";
  const name = document.createElement("span");
  name.textContent = label;
  const track = document.createElement("div");
  track.className = limit === undefined ? "bar-track no-limit" : "bar-track";
  const scale = Math.max(value, limit ?? 0) * 1.15 || 1;
  // A nutrient no rule limits has nothing to be measured against: its value only.
  if (limit !== undefined) {
    const fill = document.createElement("div");
    fill.className = "bar-fill" + (passed ? " pass" : " fail");
    fill.style.width = `${Math.min(100, (value / scale) * 100)}%`;
    track.append(fill);
    const mark = document.createElement("div");
    mark.className = "bar-limit";
    mark.style.left = `${(limit / scale) * 100}%`;
    track.append(mark);
  }
  const text = document.createElement("span");
  text.className = "bar-value";
  text.textContent = limit === undefined ? `${fmt(value)} ${unit}` : `${fmt(value)} / ${fmt(limit)} ${unit}`;
  row.append(name, track, text);
  return row;
}

function renderNutrients(nutrition, checks) {
  const bars = $("nutrient-bars");
  bars.replaceChildren();
  const per = nutrition.perServing;
  const limits = {};
  const shares = [];
  for (const check of checks) {
    const parsed = parseRule(check.rule);
    if (!parsed) continue;
    const nutrient = nutrientOfMetric(parsed.metric, per);
    if (nutrient) limits[nutrient] = check;
    else if (parsed.metric.endsWith("EnergyShare")) shares.push(check);
  }
  for (const key of Object.keys(UNITS)) {
    if (!(key in per)) continue;
    const check = limits[key];
    bars.append(barRow(t(key), per[key], UNITS[key], check?.limit, check?.passed));
  }
  for (const check of shares) {
    const macro = check.rule.replace(/EnergyShare.*/, "");
    bars.append(barRow(t(macro + "Share"), check.value * 100, "%", check.limit * 100, check.passed));
  }
}

function renderChecks(checks) {
  const body = $("checks-table").querySelector("tbody");
  body.replaceChildren();
  for (const check of checks) {
    const row = document.createElement("tr");
    row.className = check.passed ? "pass" : "fail";
    const cells = [
      [check.rule, ""],
      [check.passed ? `✓ ${t("pass")}` : `✗ ${t("fail")}`, check.passed ? "pass" : "fail"],
      [fmt(check.value, 2), "num"],
      [fmt(check.limit, 2), "num"],
    ];
    for (const [text, cls] of cells) {
      const cell = document.createElement("td");
      cell.textContent = text;
      if (cls) cell.className = cls;
      row.append(cell);
    }
    body.append(row);
  }
}

function renderMeta(meta) {
  const dl = $("meta");
  dl.replaceChildren();
  const add = (key, value) => {
    if (value === undefined || value === null) return;
    const dt = document.createElement("dt");
    dt.textContent = t(key);
    const dd = document.createElement("dd");
    dd.textContent = typeof value === "boolean" ? t(value ? "yes" : "no") : String(value);
    dl.append(dt, dd);
  };
  add("modelId", meta.modelId);
  add("attempts", meta.attempts);
  add("cached", meta.cached);
  add("latencyMs", meta.latencyMs);
  const usage = meta.usage ?? { inputTokens: meta.inputTokens, outputTokens: meta.outputTokens };
  for (const key of ["inputTokens", "outputTokens", "cacheReadInputTokens", "cacheWriteInputTokens"]) add(key, usage[key]);
  if (typeof meta.costUsd === "number") add("costUsd", `$${meta.costUsd.toFixed(6)}`);
}

function render(response) {
  lastResult = response;
  const { recipe, nutrition, checks, meta } = response;
  $("result").hidden = false;
  $("recipe-name").textContent = recipe.recipeName;
  $("recipe-description").textContent = recipe.description;
  $("recipe-time").textContent = `${recipe.cookingTime} ${t("minutes")}`;
  $("recipe-difficulty").textContent = recipe.difficulty;
  $("recipe-servings").textContent = `${recipe.servings} ${t("servingsUnit")}`;
  const ingredients = $("recipe-ingredients");
  ingredients.replaceChildren();
  for (const item of recipe.ingredients) {
    const li = document.createElement("li");
    li.textContent = `${item.name} ${item.amount}${item.unit ? " " + item.unit : ""}`;
    ingredients.append(li);
  }
  const steps = $("recipe-instructions");
  steps.replaceChildren();
  for (const text of recipe.instructions) {
    const li = document.createElement("li");
    li.textContent = text;
    steps.append(li);
  }
  $("recipe-tips").textContent = [recipe.nutritionTips, recipe.ketoNotes].filter(Boolean).join(" ");
  renderEnergy(nutrition);
  renderNutrients(nutrition, checks);
  renderChecks(checks);
  renderMeta(meta);
  const unmatched = nutrition.unmatchedIngredients ?? [];
  $("unmatched").hidden = unmatched.length === 0;
  $("unmatched").textContent = t("unmatched") + unmatched.join(", ");
}

async function onSubmit(event) {
  event.preventDefault();
  clearOutput();
  const mode = new FormData($("recipe-form")).get("mode");
  const button = $("submit");
  button.disabled = true;
  step(`${t("sent")} (${mode})`);
  try {
    const body = requestBody(mode);
    if (mode === "async") await submitAsync(body);
    else if (mode === "stream") await submitStream(body);
    else await submitSync(body);
  } catch (err) {
    showError("", { message: `${t("network")}: ${err}` });
  } finally {
    button.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll(".lang button")) {
    button.addEventListener("click", () => applyLanguage(button.dataset.lang));
  }
  $("recipe-form").addEventListener("submit", onSubmit);
  applyLanguage(lang);
});
