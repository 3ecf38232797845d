#!/usr/bin/env bash
# The packages as a user takes them (docs/packages.md): packs IlgpuVit, IlgpuVit.Images and the ilgpuvit tool
# into a temporary local feed, builds and runs a fresh console project that references IlgpuVit from that
# feed only (nuget.org serves ILGPU and the other dependencies), installs the tool from the feed with
# `dotnet tool install --tool-path` and runs `ilgpuvit info`. A prerelease suffix unique to the run keeps
# a package cached by an earlier run from standing in for this one. Usage: scripts/package_check.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
work=${1:-$(mktemp -d)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
feed="$work/feed" app="$work/app" tools="$work/tools"
rm -rf "$feed" "$app" "$tools"
mkdir -p "$feed" "$app"
suffix="local.$(date +%s)"
# The tool install caches the package in the machine's NuGet folder: remove this run's copy on exit.
cache=${NUGET_PACKAGES:-$HOME/.nuget/packages}
trap 'rm -rf "$cache/ilgpuvit.cli/${version:-none}"' EXIT
for project in src/IlgpuVit src/IlgpuVit.Images src/IlgpuVit.Cli; do
    dotnet pack "$project" -c Release --nologo -v quiet -p:VersionSuffix="$suffix" -o "$feed"
done
version="$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' Directory.Build.props)-$suffix"
for id in IlgpuVit IlgpuVit.Images IlgpuVit.Cli; do
    for kind in nupkg snupkg; do
        [ -f "$feed/$id.$version.$kind" ] || { echo "package_check: $id.$version.$kind was not packed" >&2; exit 1; }
    done
done
# Metadata, README and XML docs inside the core package.
# Listings go to files first: with pipefail, `unzip | grep -q` fails whenever grep stops reading before unzip ends.
unzip -l "$feed/IlgpuVit.$version.nupkg" > "$work/listing.txt"
unzip -p "$feed/IlgpuVit.$version.nupkg" IlgpuVit.nuspec > "$work/IlgpuVit.nuspec"
grep -q "lib/net10.0/IlgpuVit.xml" "$work/listing.txt" || { echo "package_check: no XML docs in IlgpuVit" >&2; exit 1; }
grep -q " README.md" "$work/listing.txt" || { echo "package_check: no README in IlgpuVit" >&2; exit 1; }
grep -q "<license type=\"expression\">" "$work/IlgpuVit.nuspec" || { echo "package_check: no license in IlgpuVit" >&2; exit 1; }

# The consumer: its own nuget.config (IlgpuVit* from the local feed only) and its own packages folder,
# with the machine's cache as a read-only fallback for ILGPU and the rest.
cat > "$app/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="local"><package pattern="IlgpuVit" /><package pattern="IlgpuVit.*" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
  <fallbackPackageFolders>
    <add key="cache" value="${NUGET_PACKAGES:-$HOME/.nuget/packages}" />
  </fallbackPackageFolders>
</configuration>
XML
cat > "$app/App.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <AllowUnsafeBlocks>true</AllowUnsafeBlocks>
    <RestorePackagesPath>$work/packages</RestorePackagesPath>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="IlgpuVit" Version="$version" />
  </ItemGroup>
</Project>
XML
# An empty Directory.Build.props and Directory.Packages.props so nothing above the temp folder leaks in.
echo "<Project />" > "$app/Directory.Build.props"
echo "<Project />" > "$app/Directory.Packages.props"
cp examples/QuickStart/Program.cs "$app/Program.cs"
(cd "$app" && dotnet run -c Release -- cpu)
grep -q "\"IlgpuVit\"" "$app/obj/project.assets.json"
grep -q "$feed" "$app/obj/project.assets.json" || { echo "package_check: IlgpuVit did not come from the local feed" >&2; exit 1; }

# The tool, from the feed, into its own folder.
dotnet tool install IlgpuVit.Cli --version "$version" --tool-path "$tools" --configfile "$app/nuget.config"
"$tools/ilgpuvit" info
echo "package_check: IlgpuVit $version consumed from $feed; the ilgpuvit tool runs"
