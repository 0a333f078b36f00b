using System;
using System.Collections.Generic;
using System.Text;

namespace Mhc.Build.Tasks;

/// <summary>
/// Just enough of a little-endian ELF64 reader to inspect and edit symbol-version records
/// (<c>.gnu.version_r</c>, <c>.gnu.version_d</c>) in place. Works on a byte array so that an edit
/// can be written to a new file rather than through the original's inode.
/// </summary>
internal sealed class ElfImage
{
    private const uint ShtRela = 4;
    private const uint ShtDynsym = 11;
    private const uint ShtGnuVerdef = 0x6ffffffd;
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const uint ShtGnuVersym = 0x6fffffff;

    /// <summary>VER_FLG_WEAK: the loader reports a missing version instead of refusing the library.</summary>
    internal const ushort VersionFlagWeak = 0x2;

    private readonly byte[] _bytes;
    private readonly List<Section> _sections = new();

    private ElfImage(byte[] bytes)
    {
        _bytes = bytes;
        ulong shoff = U64(0x28);
        ushort shentsize = U16(0x3A);
        ushort shnum = U16(0x3C);
        if (shoff == 0 || shnum == 0 || shentsize < 64 || shoff + (ulong)shnum * shentsize > (ulong)bytes.Length)
            throw new FormatException("The ELF file has no readable section header table.");
        const uint ShtNobits = 8;
        for (int i = 0; i < shnum; i++)
        {
            int at = checked((int)shoff + i * shentsize);
            var section = new Section(
                Type: U32(at + 4),
                Offset: checked((int)U64(at + 0x18)),
                Size: checked((int)U64(at + 0x20)),
                Link: (int)U32(at + 0x28),
                Info: (int)U32(at + 0x2C),
                EntrySize: checked((int)U64(at + 0x38)));
            // Every section read later must lie inside the file and link to a real section.
            if (section.Type != ShtNobits && (section.Offset < 0 || section.Size < 0 || (long)section.Offset + section.Size > bytes.Length))
                throw new FormatException($"Section {i} lies outside the file.");
            if (section.Link < 0 || section.Link >= shnum)
                throw new FormatException($"Section {i} links to a section that does not exist.");
            _sections.Add(section);
        }
    }

    public byte[] Bytes => _bytes;

    /// <summary>Parses <paramref name="bytes"/>, or returns null when they are not a little-endian ELF64 image.</summary>
    public static ElfImage? TryParse(byte[] bytes)
    {
        bool isElf64Le = bytes.Length >= 64
            && bytes[0] == 0x7F && bytes[1] == (byte)'E' && bytes[2] == (byte)'L' && bytes[3] == (byte)'F'
            && bytes[4] == 2 /* ELFCLASS64 */ && bytes[5] == 1 /* ELFDATA2LSB */;
        return isElf64Le ? new ElfImage(bytes) : null;
    }

    /// <summary>The version names a shared library defines (its <c>.gnu.version_d</c>), e.g. GLIBCXX_3.4.30.</summary>
    public HashSet<string> DefinedVersions()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var verdef in SectionsOfType(ShtGnuVerdef))
        {
            var strtab = _sections[verdef.Link];
            int at = verdef.Offset;
            for (int i = 0; i < verdef.Info; i++)
            {
                ushort auxCount = U16(at + 6);
                uint auxOffset = U32(at + 12);
                uint next = U32(at + 16);
                int aux = at + (int)auxOffset;
                for (int j = 0; j < auxCount; j++)
                {
                    names.Add(ReadString(strtab, U32(aux)));
                    uint auxNext = U32(aux + 4);
                    if (auxNext == 0) break;
                    aux += (int)auxNext;
                }
                if (next == 0) break;
                at += (int)next;
            }
        }
        return names;
    }

    /// <summary>Every version this image requires from other libraries (its <c>.gnu.version_r</c>).</summary>
    public List<VersionNeed> VersionNeeds()
    {
        var needs = new List<VersionNeed>();
        foreach (var verneed in SectionsOfType(ShtGnuVerneed))
        {
            var strtab = _sections[verneed.Link];
            int at = verneed.Offset;
            for (int i = 0; i < verneed.Info; i++)
            {
                ushort count = U16(at + 2);
                string file = ReadString(strtab, U32(at + 4));
                uint auxOffset = U32(at + 8);
                uint next = U32(at + 12);
                int aux = at + (int)auxOffset;
                for (int j = 0; j < count; j++)
                {
                    needs.Add(new VersionNeed(
                        File: file,
                        Name: ReadString(strtab, U32(aux + 8)),
                        Flags: U16(aux + 4),
                        Index: U16(aux + 6),
                        FlagsOffset: aux + 4));
                    uint auxNext = U32(aux + 12);
                    if (auxNext == 0) break;
                    aux += (int)auxNext;
                }
                if (next == 0) break;
                at += (int)next;
            }
        }
        return needs;
    }

    /// <summary>
    /// Names of the dynamic symbols bound to version <paramref name="versionIndex"/> that a relocation
    /// refers to, i.e. that the library really uses at run time. A version whose symbols are never
    /// relocated is only declared, so marking it weak cannot break a call.
    /// </summary>
    public List<string> RelocatedSymbolsOfVersion(ushort versionIndex)
    {
        var dynsym = FirstSectionOfType(ShtDynsym);
        var versym = FirstSectionOfType(ShtGnuVersym);
        if (dynsym is null || versym is null) return new List<string>();
        int dynsymIndex = _sections.IndexOf(dynsym.Value);

        var referenced = new HashSet<uint>();
        foreach (var rela in SectionsOfType(ShtRela))
        {
            if (rela.Link != dynsymIndex || rela.EntrySize == 0) continue;
            for (int at = rela.Offset; at + rela.EntrySize <= rela.Offset + rela.Size; at += rela.EntrySize)
                referenced.Add((uint)(U64(at + 8) >> 32));
        }

        var strtab = _sections[dynsym.Value.Link];
        var symbols = new List<string>();
        int symbolCount = dynsym.Value.Size / Math.Max(dynsym.Value.EntrySize, 24);
        for (uint s = 0; s < symbolCount; s++)
        {
            ushort version = (ushort)(U16(versym.Value.Offset + (int)s * 2) & 0x7FFF);
            if (version == versionIndex && referenced.Contains(s))
                symbols.Add(ReadString(strtab, U32(dynsym.Value.Offset + (int)s * dynsym.Value.EntrySize)));
        }
        return symbols;
    }

    public void SetFlags(VersionNeed need, ushort flags)
    {
        _bytes[need.FlagsOffset] = (byte)(flags & 0xFF);
        _bytes[need.FlagsOffset + 1] = (byte)(flags >> 8);
    }

    private IEnumerable<Section> SectionsOfType(uint type)
    {
        foreach (var s in _sections)
            if (s.Type == type) yield return s;
    }

    private Section? FirstSectionOfType(uint type)
    {
        foreach (var s in _sections)
            if (s.Type == type) return s;
        return null;
    }

    private string ReadString(Section strtab, uint offset)
    {
        int start = strtab.Offset + (int)offset;
        int limit = strtab.Offset + strtab.Size;
        if (offset >= (uint)strtab.Size) throw new FormatException("A name points outside its string table.");
        int end = start;
        while (end < limit && _bytes[end] != 0) end++;
        return Encoding.ASCII.GetString(_bytes, start, end - start);
    }

    private ushort U16(int at) => (ushort)(_bytes[at] | _bytes[at + 1] << 8);
    private uint U32(int at) => (uint)(_bytes[at] | _bytes[at + 1] << 8 | _bytes[at + 2] << 16 | _bytes[at + 3] << 24);
    private ulong U64(int at) => U32(at) | (ulong)U32(at + 4) << 32;

    private readonly record struct Section(uint Type, int Offset, int Size, int Link, int Info, int EntrySize);
}

/// <summary>One required symbol version: <see cref="Name"/> from <see cref="File"/>.</summary>
internal readonly record struct VersionNeed(string File, string Name, ushort Flags, ushort Index, int FlagsOffset)
{
    public bool IsWeak => (Flags & ElfImage.VersionFlagWeak) != 0;
}
