/**
 * The TPI (stream 2) and IPI (stream 4) streams as far as names need them (LLVM's "The PDB TPI and
 * IPI Streams", cvinfo.h's LEAF_ENUM_e): a header, then type records (`u16 length, u16 leaf`)
 * numbered from TypeIndexBegin. One scan records where each starts; records decode on demand.
 */
import { Reader, cString } from '../../io/reader.js';

/** LEAF_ENUM_e values read here. */
const LF = {
  MODIFIER: 0x1001,
  POINTER: 0x1002,
  PROCEDURE: 0x1008,
  MFUNCTION: 0x1009,
  ARGLIST: 0x1201,
  ARRAY: 0x1503,
  CLASS: 0x1504,
  STRUCTURE: 0x1505,
  UNION: 0x1506,
  ENUM: 0x1507,
  INTERFACE: 0x1519,
  FUNC_ID: 0x1601,
  MFUNC_ID: 0x1602,
  STRING_ID: 0x1605,
} as const;

/** Nesting deeper than this while naming a type is a cycle or a hostile file: the name stops there. */
const MAX_TYPE_DEPTH = 24;

/** One of the two type streams: record offsets by type index. */
export class TypeStream {
  readonly begin: number;
  private readonly r: Reader;
  private readonly offsets: Uint32Array;

  private constructor(r: Reader, begin: number, offsets: Uint32Array) {
    this.r = r;
    this.begin = begin;
    this.offsets = offsets;
  }

  /** TpiStreamHeader: Version, HeaderSize, TypeIndexBegin, TypeIndexEnd, TypeRecordBytes, ... */
  static parse(r: Reader): TypeStream {
    if (r.length < 20) throw r.error(0, 'the type stream is shorter than its header');
    const headerSize = r.u32(4);
    const begin = r.u32(8);
    const end = r.u32(12);
    const recordBytes = r.u32(16);
    if (headerSize < 20 || headerSize > r.length || recordBytes > r.length - headerSize) throw r.error(4, `type stream header (${headerSize} bytes, ${recordBytes} of records) does not fit the stream`);
    if (end < begin || end - begin > recordBytes / 4) throw r.error(8, `type indices 0x${begin.toString(16)}..0x${end.toString(16)} cannot fit ${recordBytes} bytes of records`);
    const offsets = new Uint32Array(end - begin);
    let at = headerSize;
    const limit = headerSize + recordBytes;
    let n = 0;
    while (n < offsets.length && at + 4 <= limit) {
      const length = r.u16(at);
      if (length < 2 || at + 2 + length > limit) break;
      offsets[n++] = at;
      at += 2 + length;
    }
    return new TypeStream(r, begin, offsets.subarray(0, n));
  }

  static empty(): TypeStream {
    return new TypeStream(new Reader(new Uint8Array(0), '<none>', 0, 'type stream'), 0x1000, new Uint32Array(0));
  }

  /** The record of a type index: its leaf and the offset of its body, or undefined. */
  record(index: number): { leaf: number; at: number; end: number } | undefined {
    const i = index - this.begin;
    if (i < 0 || i >= this.offsets.length) return undefined;
    const at = this.offsets[i]!;
    return { leaf: this.r.u16(at + 2), at: at + 4, end: at + 2 + this.r.u16(at) };
  }

  get reader(): Reader {
    return this.r;
  }
}

/** A numeric leaf's size in bytes (value < 0x8000 inline, else LF_CHAR.. LF_UQUADWORD follow). */
function numericLeafSize(r: Reader, at: number): number {
  const v = r.u16(at);
  if (v < 0x8000) return 2;
  const sizes: Record<number, number> = { 0x8000: 1, 0x8001: 2, 0x8002: 2, 0x8003: 4, 0x8004: 4, 0x8005: 4, 0x8006: 8, 0x8009: 8, 0x800a: 8 };
  return 2 + (sizes[v] ?? 0);
}

/** A numeric leaf's value when it fits a double exactly (LF_CHAR .. LF_ULONG), else undefined. */
function numericLeafValue(r: Reader, at: number): number | undefined {
  const v = r.u16(at);
  if (v < 0x8000) return v;
  switch (v) {
    case 0x8000:
      return r.u8(at + 2) << 24 >> 24;
    case 0x8001:
      return r.u16(at + 2) << 16 >> 16;
    case 0x8002:
      return r.u16(at + 2);
    case 0x8003:
      return r.u32(at + 2) | 0;
    case 0x8004:
      return r.u32(at + 2);
    default:
      return undefined;
  }
}

/** Names from the TPI and IPI: inlinees (LF_FUNC_ID / LF_MFUNC_ID) and, for C++ signatures, parameter lists. */
/** Whose spelling of a type: MSVC's undecorator, or DIA's made-up declarations. */
export type TypeSpelling = 'undname' | 'dia';

export class TypeNames {
  private readonly tpi: TypeStream;
  private readonly ipi: TypeStream;

  constructor(tpi: TypeStream, ipi: TypeStream) {
    this.tpi = tpi;
    this.ipi = ipi;
  }

  /**
   * An inlinee's name, qualified as a procedure's is: LF_FUNC_ID's scope (an LF_STRING_ID, e.g. a
   * namespace) or LF_MFUNC_ID's class, then `::` and the name. undefined for an unknown id.
   */
  inlineeName(id: number): string | undefined {
    const rec = this.ipi.record(id);
    if (!rec) return undefined;
    const r = this.ipi.reader;
    if (rec.leaf === LF.FUNC_ID) {
      // LF_FUNC_ID: scopeId, type, name.
      const name = cString(r.bytes.subarray(rec.at + 8, rec.end));
      const scope = r.u32(rec.at);
      const scopeName = scope === 0 ? undefined : this.stringId(scope)?.split('::').map(anonymousNamespace).join('::');
      return scopeName ? `${scopeName}::${name}` : name;
    }
    if (rec.leaf === LF.MFUNC_ID) {
      // LF_MFUNC_ID: parentType (TPI), type, name.
      let name = cString(r.bytes.subarray(rec.at + 8, rec.end));
      const parent = this.udtName(r.u32(rec.at));
      if (!parent) return name;
      // Constructors and destructors are "{ctor}" / "{dtor}" here; undecorated names spell them out.
      if (name === '{ctor}') name = unqualified(parent);
      else if (name === '{dtor}') name = '~' + unqualified(parent);
      return `${parent}::${name}`;
    }
    return undefined;
  }

  private stringId(id: number): string | undefined {
    const rec = this.ipi.record(id);
    // LF_STRING_ID: id (a substring list), name.
    return rec?.leaf === LF.STRING_ID ? cString(this.ipi.reader.bytes.subarray(rec.at + 4, rec.end)) : undefined;
  }

  /** A class, struct, union or enum's name. */
  udtName(index: number): string | undefined {
    const rec = this.tpi.record(index);
    if (!rec) return undefined;
    const r = this.tpi.reader;
    switch (rec.leaf) {
      case LF.CLASS:
      case LF.STRUCTURE:
      case LF.INTERFACE:
        // count, property, field, derived, vshape, size (numeric leaf), name.
        return cString(r.bytes.subarray(rec.at + 16 + numericLeafSize(r, rec.at + 16), rec.end));
      case LF.UNION:
        // count, property, field, size, name.
        return cString(r.bytes.subarray(rec.at + 8 + numericLeafSize(r, rec.at + 8), rec.end));
      case LF.ENUM:
        // count, property, utype, field, name.
        return cString(r.bytes.subarray(rec.at + 12, rec.end));
      default:
        return undefined;
    }
  }

  /**
   * A function type's parameter list as MSVC's undecorator prints it ("(int,wchar_t const *)");
   * undefined when the type is not a procedure or a parameter cannot be named.
   */
  parameterList(functionType: number): string | undefined {
    const rec = this.tpi.record(functionType);
    if (!rec) return undefined;
    const r = this.tpi.reader;
    let argList: number;
    if (rec.leaf === LF.PROCEDURE) argList = r.u32(rec.at + 8);
    else if (rec.leaf === LF.MFUNCTION) argList = r.u32(rec.at + 16);
    else return undefined;
    return this.arguments(argList, 0);
  }

  /** A function type's parameter count, `this` counted for a member function that has one; undefined when not a function type. */
  parameterCount(functionType: number): number | undefined {
    const rec = this.tpi.record(functionType);
    if (!rec) return undefined;
    const r = this.tpi.reader;
    // LF_PROCEDURE: rvtype, calltype u8, funcattr u8, parmcount u16, arglist.
    if (rec.leaf === LF.PROCEDURE) return r.u16(rec.at + 6);
    // LF_MFUNCTION: rvtype, classtype, thistype, calltype u8, funcattr u8, parmcount u16, arglist, thisadjust.
    if (rec.leaf === LF.MFUNCTION) return r.u16(rec.at + 14) + (r.u32(rec.at + 8) !== 0 ? 1 : 0);
    return undefined;
  }

  private arguments(argList: number, depth: number): string | undefined {
    const names = this.argumentNames(argList, depth, 'undname');
    return names === undefined ? undefined : `(${names.join(',')})`;
  }

  /** An LF_ARGLIST's types in a spelling; T_NOTYPE closes a variadic list ("..."). */
  private argumentNames(argList: number, depth: number, spelling: TypeSpelling): string[] | undefined {
    const args = this.tpi.record(argList);
    if (!args || args.leaf !== LF.ARGLIST) return undefined;
    const r = this.tpi.reader;
    const count = r.u32(args.at);
    if (args.at + 4 + count * 4 > args.end) return undefined;
    const names: string[] = [];
    for (let i = 0; i < count; i++) {
      const t = r.u32(args.at + 4 + i * 4);
      // The undecorator leaves out a by-value parameter's top-level const; DIA keeps it.
      const name = t === 0 ? '...' : this.typeName(spelling === 'undname' ? this.withoutValueConst(t) : t, depth + 1, spelling);
      if (name === undefined) return undefined;
      names.push(name);
    }
    return names;
  }

  /** A by-value parameter's top-level const is not part of the signature (nor of a decorated name): drop it. */
  private withoutValueConst(index: number): number {
    const rec = this.tpi.record(index);
    if (rec?.leaf !== LF.MODIFIER) return index;
    const inner = this.tpi.reader.u32(rec.at);
    return this.tpi.record(inner)?.leaf === LF.POINTER ? index : inner;
  }

  /**
   * A type's size in bytes (DIA's get_length): built-in types, pointers, modifiers, enums, arrays
   * and defined (not forward-referenced) structures and unions; undefined otherwise.
   */
  typeSize(index: number, depth = 0): number | undefined {
    if (depth > MAX_TYPE_DEPTH) return undefined;
    if (index < 0x1000) return simpleTypeSize(index);
    const rec = this.tpi.record(index);
    if (!rec) return undefined;
    const r = this.tpi.reader;
    switch (rec.leaf) {
      case LF.MODIFIER:
        return this.typeSize(r.u32(rec.at), depth + 1);
      case LF.POINTER:
        // LF_POINTER attr: size in bits 13-18.
        return (r.u32(rec.at + 4) >>> 13) & 0x3f;
      case LF.ENUM:
        // LF_ENUM: count u16, property u16, utype u32.
        return this.typeSize(r.u32(rec.at + 4), depth + 1);
      case LF.ARRAY:
        // LF_ARRAY: elemtype u32, idxtype u32, size (numeric leaf).
        return numericLeafValue(r, rec.at + 8);
      case LF.CLASS:
      case LF.STRUCTURE:
      case LF.INTERFACE:
        // count u16, property u16 (fwdref 0x80), field u32, derived u32, vshape u32, size.
        return r.u16(rec.at + 2) & 0x80 ? undefined : numericLeafValue(r, rec.at + 16);
      case LF.UNION:
        // count u16, property u16, field u32, size.
        return r.u16(rec.at + 2) & 0x80 ? undefined : numericLeafValue(r, rec.at + 8);
      default:
        return undefined;
    }
  }

  /**
   * A procedure's declaration as DIA makes one up for a function no decorated name describes
   * (a static function: "static void setSBCS(struct threadmbcinfostruct *)"): "static", the return
   * type, the name and the parameters in DIA's spelling (typeName's 'dia'). A record with no type gives
   * "static  name()", as DIA's empty return type does. undefined when a type cannot be named.
   */
  staticDeclaration(name: string, functionType: number): string | undefined {
    if (functionType === 0) return `static  ${name}()`;
    const rec = this.tpi.record(functionType);
    if (!rec || rec.leaf !== LF.PROCEDURE) return undefined;
    const r = this.tpi.reader;
    const ret = this.typeName(r.u32(rec.at), 0, 'dia');
    const params = this.argumentNames(r.u32(rec.at + 8), 0, 'dia');
    return ret === undefined || params === undefined ? undefined : `static ${ret} ${name}(${params.join(', ')})`;
  }

  /**
   * A type as the undecorator writes it ('undname': "wchar_t const * const", "bool (*)(void *)",
   * "std::string const &"), or as DIA spells it in the declarations it makes up ('dia':
   * "struct _CONTEXT *", "const char *", "char * *", and a function type as nothing at all, so a
   * function pointer is " *").
   */
  typeName(index: number, depth = 0, spelling: TypeSpelling = 'undname'): string | undefined {
    if (depth > MAX_TYPE_DEPTH) return undefined;
    if (index < 0x1000) return simpleTypeName(index);
    const rec = this.tpi.record(index);
    if (!rec) return undefined;
    const r = this.tpi.reader;
    const dia = spelling === 'dia';
    switch (rec.leaf) {
      case LF.MODIFIER: {
        // LF_MODIFIER: type, attr (const 1, volatile 2, unaligned 4).
        const inner = this.typeName(r.u32(rec.at), depth + 1, spelling);
        const attr = r.u16(rec.at + 4);
        if (inner === undefined) return undefined;
        // DIA writes a qualifier before the type it qualifies, except a pointer's.
        if (dia && this.tpi.record(r.u32(rec.at))?.leaf !== LF.POINTER) return `${attr & 1 ? 'const ' : ''}${attr & 2 ? 'volatile ' : ''}${inner}`;
        return inner + qualifiers(attr & 1, attr & 2);
      }
      case LF.POINTER: {
        // LF_POINTER: utype, attr (ptrmode bits 5-7, isvolatile bit 9, isconst bit 10).
        const pointee = r.u32(rec.at);
        const attr = r.u32(rec.at + 4);
        const mode = (attr >>> 5) & 7;
        const sigil = mode === 1 ? '&' : mode === 4 ? '&&' : '*';
        const quals = qualifiers(attr & (1 << 10), attr & (1 << 9));
        const target = this.tpi.record(pointee);
        if (!dia && target?.leaf === LF.PROCEDURE) {
          const ret = this.typeName(r.u32(target.at), depth + 1);
          const params = this.arguments(r.u32(target.at + 8), depth + 1);
          return ret === undefined || params === undefined ? undefined : `${ret} (${sigil}${quals})${params}`;
        }
        const inner = this.typeName(pointee, depth + 1, spelling);
        return inner === undefined ? undefined : `${inner} ${sigil}${quals}`;
      }
      case LF.PROCEDURE:
      case LF.MFUNCTION:
        return dia ? '' : undefined;
      case LF.CLASS:
      case LF.STRUCTURE:
      case LF.INTERFACE:
      case LF.UNION:
      case LF.ENUM: {
        const name = this.udtName(index);
        if (!dia || name === undefined) return name;
        const keyword = rec.leaf === LF.CLASS ? 'class' : rec.leaf === LF.STRUCTURE ? 'struct' : rec.leaf === LF.INTERFACE ? 'interface' : rec.leaf === LF.UNION ? 'union' : 'enum';
        return `${keyword} ${name}`;
      }
      default:
        return undefined;
    }
  }
}

/** The last component of a qualified name, `::` inside template arguments not counting. */
function unqualified(name: string): string {
  let depth = 0;
  let start = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (c === '<') depth++;
    else if (c === '>') depth--;
    else if (c === ':' && name[i + 1] === ':' && depth === 0) start = i + 2;
  }
  return name.slice(start);
}

/** MSVC's anonymous namespaces are `?A0x<hash>` in scopes; undecorated names say `anonymous namespace'. */
function anonymousNamespace(part: string): string {
  return /^\?A0x[0-9a-f]+$/i.test(part) ? "`anonymous namespace'" : part;
}

function qualifiers(isConst: number, isVolatile: number): string {
  return (isConst ? ' const' : '') + (isVolatile ? ' volatile' : '');
}

/** Built-in types (type index < 0x1000): kind in the low byte, pointer mode in bits 8-11. */
function simpleTypeName(index: number): string | undefined {
  const names: Record<number, string> = {
    0x03: 'void',
    0x08: 'long',
    0x10: 'char',
    0x20: 'unsigned char',
    0x68: 'signed char',
    0x69: 'unsigned char',
    0x70: 'char',
    0x71: 'wchar_t',
    0x7a: 'char16_t',
    0x7b: 'char32_t',
    0x7c: 'char8_t',
    0x11: 'short',
    0x21: 'unsigned short',
    0x72: 'short',
    0x73: 'unsigned short',
    0x12: 'long',
    0x22: 'unsigned long',
    0x74: 'int',
    0x75: 'unsigned int',
    0x13: '__int64',
    0x23: 'unsigned __int64',
    0x76: '__int64',
    0x77: 'unsigned __int64',
    0x30: 'bool',
    0x40: 'float',
    0x41: 'double',
    0x42: 'long double',
  };
  const base = names[index & 0xff];
  if (base === undefined) return undefined;
  return (index & 0xf00) === 0 ? base : `${base} *`;
}

/** Built-in types' sizes: by pointer mode (bits 8-11) when one is set, else by the kind in the low byte. */
function simpleTypeSize(index: number): number | undefined {
  const mode = (index >>> 8) & 0xf;
  // CV_TM_NPTR, FPTR, HPTR (16-bit), NPTR32, FPTR32, NPTR64, NPTR128.
  const pointerSizes: Record<number, number> = { 1: 2, 2: 4, 3: 4, 4: 4, 5: 6, 6: 8, 7: 16 };
  if (mode !== 0) return pointerSizes[mode];
  const kind = index & 0xff;
  const sizes: Record<number, number> = {
    0x08: 4, // HRESULT
    0x10: 1, 0x20: 1, 0x68: 1, 0x69: 1, 0x70: 1, 0x7c: 1, 0x30: 1,
    0x11: 2, 0x21: 2, 0x72: 2, 0x73: 2, 0x71: 2, 0x7a: 2, 0x31: 2,
    0x12: 4, 0x22: 4, 0x74: 4, 0x75: 4, 0x7b: 4, 0x32: 4, 0x40: 4,
    0x13: 8, 0x23: 8, 0x76: 8, 0x77: 8, 0x33: 8, 0x41: 8,
    0x42: 10,
  };
  return sizes[kind];
}
