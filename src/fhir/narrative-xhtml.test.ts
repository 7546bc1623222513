import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { narrativeFault } from './narrative-xhtml.js';

const div = (inner: string) => `<div xmlns="http://www.w3.org/1999/xhtml">${inner}</div>`;

describe('narrativeFault (R4 Narrative.div, txt-1)', () => {
  it('accepts basic formatting, tables, links, images and entities', () => {
    for (const inner of [
      '<p>Blood pressure <b>120/80</b>&nbsp;mmHg &amp; pulse&#160;72</p>',
      '<table class="grid"><tr><th scope="col">Test</th><td rowspan="2">5.4</td></tr></table>',
      '<a href="https://example.org/x?a=1&amp;b=2">source</a><a name="top"/>',
      '<img src="#photo" alt="photo"/><img src="data:image/png;base64,iVBORw0KGgo=" alt=""/>',
      '<!-- generated --><ul><li style="color: red">one</li></ul><br/>',
    ]) {
      expect(narrativeFault(div(inner)), inner).toBeUndefined();
    }
  });

  it('refuses scripts, event attributes, script URLs, forms and frames', () => {
    const cases: [string, RegExp][] = [
      ['<p>hi</p><script>alert(1)</script>', /element <script>/],
      ['<img src="x" onerror="alert(1)"/>', /event attribute onerror/],
      ['<p ONCLICK="x()">a</p>', /event attribute/],
      ['<a href="javascript:alert(1)">a</a>', /javascript: scheme/],
      ['<a href="  JaVa&#x53;cript:alert(1)">a</a>', /javascript: scheme/],
      ['<a href="java&#x09;script:alert(1)">a</a>', /javascript: scheme/],
      ['<a href="data:text/html;base64,PHNjcmlwdD4=">a</a>', /data: URL/],
      ['<img src="data:image/svg+xml;base64,PHN2Zz4="/>', /data: URL/],
      ['<iframe src="https://evil.example"></iframe>', /element <iframe>/],
      ['<form action="https://evil.example"><input name="pin"/></form>', /element <form>/],
      ['<object data="x"></object>', /element <object>/],
      ['<style>body{}</style>', /element <style>/],
      ['<p style="width: expression(alert(1))">a</p>', /style attribute with script/],
      ['<svg><script>alert(1)</script></svg>', /element <svg>/],
    ];
    for (const [inner, message] of cases) expect(narrativeFault(div(inner)), inner).toMatch(message);
  });

  it('refuses what is not a well-formed XHTML div', () => {
    expect(narrativeFault('<p>no div</p>')).toMatch(/root element is not a div/);
    expect(narrativeFault('<div>no namespace</div>')).toMatch(/lacks xmlns/);
    expect(narrativeFault(div('<p>open'))).toMatch(/closing <\/div>|unclosed/);
    expect(narrativeFault(`${div('a')}<script>x</script>`)).toMatch(/after the root div/);
    expect(narrativeFault(div('<p unquoted=1>a</p>'))).toMatch(/malformed attribute/);
    expect(narrativeFault(div('fish & chips'))).toMatch(/entity/);
    expect(narrativeFault(div('<![CDATA[<script>]]>'))).toMatch(/CDATA/);
    expect(narrativeFault(`<!DOCTYPE x>${div('a')}`)).toMatch(/DOCTYPE/);
    expect(narrativeFault('text')).toMatch(/outside the root div/);
  });

  it('names no content of the narrative in its message', () => {
    const fault = narrativeFault(div('<p>Maria Rivera has HIV</p><script>steal("Maria")</script>'));
    expect(fault).toBeDefined();
    expect(fault).not.toMatch(/Maria|HIV|steal/);
  });

  it('accepts the narrative of every official R4 example', () => {
    const examples = dirname(createRequire(import.meta.url).resolve('hl7.fhir.r4.examples/package.json'));
    let checked = 0;
    const refused: string[] = [];
    const walk = (value: unknown, file: string): void => {
      if (Array.isArray(value)) {
        for (const item of value) walk(item, file);
        return;
      }
      if (value === null || typeof value !== 'object') return;
      const object = value as Record<string, unknown>;
      const text = object.text as { div?: unknown } | undefined;
      if (typeof object.resourceType === 'string' && typeof text?.div === 'string') {
        checked++;
        if (narrativeFault(text.div) !== undefined) refused.push(file);
      }
      for (const child of Object.values(object)) walk(child, file);
    };
    for (const file of readdirSync(examples)) {
      if (!file.endsWith('.json') || file === 'package.json') continue;
      walk(JSON.parse(readFileSync(join(examples, file), 'utf8')), file);
    }
    expect(checked).toBeGreaterThan(4_000);
    expect(refused).toEqual([]);
  });
});
