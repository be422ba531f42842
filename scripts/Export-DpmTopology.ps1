#Requires -Version 5.1
<#
.SYNOPSIS
Exports this DPM or MABS server's protection topology to a JSON file for `dpmsmt import`.

.DESCRIPTION
Run Export-DpmTopology.ps1 on each DPM or MABS server of the estate (DPM 2012 R2 to 2025, Azure
Backup Server), in Windows PowerShell 5.1, as an administrator of DPM. It reads, from this
server only, the DPM server itself (product, version, operating system, where its database
lives, the SQL Server VSS writer, its domain, and its AD computer object's GUID as a stable
identity, read with ADSI), its protected servers (Get-DPMProductionServer), protection
groups (Get-DPMProtectionGroup), data sources, active and inactive (Get-DPMDatasource), and tape
libraries (Get-DPMLibrary), and writes them as one UTF-8 JSON file.

The script is read-only: it changes nothing on the server; the only file it writes is the
export. It reads every property by name; a property this DPM version does not have is listed in
the export's MissingProperties, and a section that fails (a stopped library service) is
recorded in Errors while the rest is still exported. It needs no module but
DataProtectionManager.

Collect the files of all servers in one folder and run:
    dpmsmt import *.json --output estate.yaml

.PARAMETER OutputPath
The file to write. Default: <COMPUTERNAME>.dpmsmt.json in the current folder. An existing file
is replaced only when the export is complete (the file is written under another name first).

.EXAMPLE
.\Export-DpmTopology.ps1
Writes DPM01.dpmsmt.json in the current folder (on the server DPM01).

.EXAMPLE
.\Export-DpmTopology.ps1 -OutputPath \\fileserver\dpm-exports\DPM01.json
Writes the export straight to a share that collects the exports of every DPM server.

.NOTES
Export format 1 (dpmsmtExport: 1). `dpmsmt schema --export` prints its JSON Schema.
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [string] $OutputPath = (Join-Path -Path (Get-Location).Path -ChildPath ('{0}.dpmsmt.json' -f $env:COMPUTERNAME))
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$script:CollectorVersion = 'Export-DpmTopology.ps1 1.0'
$script:Missing = New-Object -TypeName 'System.Collections.Generic.SortedSet[string]'
$script:Errors = New-Object -TypeName 'System.Collections.ArrayList'
$script:DpmRegistry = 'HKLM:\SOFTWARE\Microsoft\Microsoft Data Protection Manager'

function ConvertTo-PlainValue {
    <# A value as JSON can hold it: enums and other objects as strings, dates as ISO 8601,
       lists as lists of strings. #>
    param($Value)
    if ($null -eq $Value) { return $null }
    if ($Value -is [string] -or $Value -is [bool]) { return $Value }
    if ($Value -is [int] -or $Value -is [long] -or $Value -is [uint32] -or $Value -is [uint64]) { return $Value }
    if ($Value -is [datetime]) { return $Value.ToUniversalTime().ToString('o') }
    if ($Value -is [enum]) { return $Value.ToString() }
    if ($Value -is [System.Collections.IEnumerable]) {
        $items = New-Object -TypeName 'System.Collections.Generic.List[string]'
        foreach ($item in $Value) {
            if ($null -ne $item) { $items.Add([string]$item) }
        }
        return , $items.ToArray()
    }
    return $Value.ToString()
}

function Read-Property {
    <# One property of a cmdlet object, read by name (never Select-Object *: DPM objects have
       lazy members and cyclic object graphs). Section.Name goes to MissingProperties when the
       object has no such property or reading it fails. #>
    param(
        [Parameter(Position = 0)] $Object,
        [Parameter(Position = 1)] [string] $Section,
        [Parameter(Position = 2)] [string] $Name,
        [string] $Property = $Name
    )
    if ($null -eq $Object) { return $null }
    $found = $Object.PSObject.Properties[$Property]
    if ($null -eq $found) {
        [void]$script:Missing.Add(('{0}.{1}' -f $Section, $Name))
        return $null
    }
    try {
        $value = $found.Value
    }
    catch {
        [void]$script:Missing.Add(('{0}.{1}' -f $Section, $Name))
        return $null
    }
    return , (ConvertTo-PlainValue -Value $value)
}

function Invoke-Section {
    <# Run one section's reading; a failure is recorded in Errors and the export goes on. #>
    param([string] $Section, [scriptblock] $Body)
    try {
        return , @(& $Body)
    }
    catch {
        [void]$script:Errors.Add([ordered]@{ Section = $Section; Message = $_.Exception.Message })
        return , @()
    }
}

function Get-AdComputerRecord {
    <# This computer's AD object, found with ADSI ([adsisearcher]: no ActiveDirectory module),
       as a record with its objectGUID: a stable identity that survives a rename (and a move of
       the object within the forest; leaving the domain and joining another makes a new object).
       Read-only (an LDAP search); $null off a domain or when no domain controller answers. #>
    $filter = '(&(objectCategory=computer)(sAMAccountName={0}$))' -f $env:COMPUTERNAME
    $searcher = [adsisearcher]$filter
    $searcher.ClientTimeout = [timespan]::FromSeconds(30)
    [void]$searcher.PropertiesToLoad.Add('objectguid')
    $found = $searcher.FindOne()
    if ($null -eq $found -or $found.Properties['objectguid'].Count -eq 0) { return $null }
    $bytes = [byte[]]$found.Properties['objectguid'][0]
    $guid = New-Object -TypeName System.Guid -ArgumentList (, $bytes)
    return [pscustomobject]@{ ObjectGuid = $guid.ToString() }
}

function Get-DpmServerRecord {
    param($Server)
    $product = $null
    try { $product = $Server.GetProductInformation() }
    catch { [void]$script:Errors.Add([ordered]@{ Section = 'DpmServer'; Message = $_.Exception.Message }) }

    $version = Read-Property $product 'DpmServer' 'Version'
    if ($null -eq $version) {
        # Fallback: the file version of msdpm.exe under DPM's installation folder.
        $setup = Get-ItemProperty -Path (Join-Path $script:DpmRegistry 'Setup') -ErrorAction SilentlyContinue
        $install = $null
        if ($null -ne $setup -and $null -ne $setup.PSObject.Properties['InstallPath']) { $install = $setup.PSObject.Properties['InstallPath'].Value }
        if ($install) {
            $exe = Join-Path -Path $install -ChildPath 'bin\msdpm.exe'
            if (Test-Path -LiteralPath $exe) { $version = (Get-Item -LiteralPath $exe).VersionInfo.FileVersion }
        }
    }

    $os = Invoke-Section 'DpmServer.OS' { Get-WmiObject -Class Win32_OperatingSystem }
    $osInfo = $null
    $computerName = $null
    if ($os.Count -gt 0) {
        $computerName = Read-Property $os[0] 'DpmServer' 'ComputerName' -Property 'CSName'
    }
    if (-not $computerName) { $computerName = $env:COMPUTERNAME }
    if ($os.Count -gt 0) {
        $osInfo = [ordered]@{
            Caption = Read-Property $os[0] 'DpmServer.OS' 'Caption'
            Version = Read-Property $os[0] 'DpmServer.OS' 'Version'
        }
    }

    $db = Get-ItemProperty -Path (Join-Path $script:DpmRegistry 'DB') -ErrorAction SilentlyContinue
    $dbInfo = $null
    if ($null -ne $db) {
        $dbInfo = [ordered]@{
            SqlServer    = Read-Property $db 'DpmServer.DB' 'SqlServer'
            InstanceName = Read-Property $db 'DpmServer.DB' 'InstanceName'
            DatabaseName = Read-Property $db 'DpmServer.DB' 'DatabaseName'
        }
    }
    else {
        [void]$script:Errors.Add([ordered]@{ Section = 'DpmServer.DB'; Message = 'registry key DB not found' })
    }

    # Its domain (Win32_ComputerSystem: a workgroup's name when PartOfDomain is false) and its
    # AD object's GUID; what cannot be read goes to MissingProperties.
    $system = Invoke-Section 'DpmServer.Domain' { Get-WmiObject -Class Win32_ComputerSystem }
    $computerSystem = $null
    if ($system.Count -gt 0) { $computerSystem = $system[0] }
    $domain = Read-Property $computerSystem 'DpmServer' 'Domain'
    $partOfDomain = Read-Property $computerSystem 'DpmServer' 'PartOfDomain'
    $adComputer = $null
    if ($partOfDomain) {
        $adComputers = Invoke-Section 'DpmServer.Identity' { Get-AdComputerRecord }
        if ($adComputers.Count -gt 0) { $adComputer = $adComputers[0] }
    }
    $identity = Read-Property $adComputer 'DpmServer' 'Identity' -Property 'ObjectGuid'
    if ($null -eq $computerSystem) {
        [void]$script:Missing.Add('DpmServer.Domain')
        [void]$script:Missing.Add('DpmServer.PartOfDomain')
    }
    if ($null -eq $identity -and $partOfDomain -ne $false) { [void]$script:Missing.Add('DpmServer.Identity') }  # a workgroup server has no AD object

    $writer = Get-Service -Name 'SQLWriter' -ErrorAction SilentlyContinue
    $writerStatus = Read-Property $writer 'DpmServer' 'SqlWriterStatus' -Property 'Status'
    if ($null -eq $writer) { $writerStatus = 'NotInstalled' }

    return [ordered]@{
        Name            = Read-Property $Server 'DpmServer' 'Name'
        ComputerName    = $computerName
        ProductName     = Read-Property $product 'DpmServer' 'ProductName'
        Version         = $version
        OS              = $osInfo
        DB              = $dbInfo
        SqlWriterStatus = $writerStatus
        Domain          = $domain
        PartOfDomain    = $partOfDomain
        Identity        = $identity
    }
}

function ConvertTo-ProductionServerRecord {
    param($ProductionServer)
    [ordered]@{
        ServerName            = Read-Property $ProductionServer 'ProductionServers' 'ServerName'
        Name                  = Read-Property $ProductionServer 'ProductionServers' 'Name'
        Domain                = Read-Property $ProductionServer 'ProductionServers' 'Domain'
        ClusterName           = Read-Property $ProductionServer 'ProductionServers' 'ClusterName'
        PossibleOwners        = Read-Property $ProductionServer 'ProductionServers' 'PossibleOwners'
        ServerProtectionState = Read-Property $ProductionServer 'ProductionServers' 'ServerProtectionState'
    }
}

function ConvertTo-ProtectionGroupRecord {
    param($Group)
    [ordered]@{
        Name                            = Read-Property $Group 'ProtectionGroups' 'Name'
        IsDiskShortTerm                 = Read-Property $Group 'ProtectionGroups' 'IsDiskShortTerm'
        IsTapeShortTerm                 = Read-Property $Group 'ProtectionGroups' 'IsTapeShortTerm'
        IsTapeLongTerm                  = Read-Property $Group 'ProtectionGroups' 'IsTapeLongTerm'
        IsCloudLongTerm                 = Read-Property $Group 'ProtectionGroups' 'IsCloudLongTerm'
        SynchronizationFrequencyMinutes = Read-Property $Group 'ProtectionGroups' 'SynchronizationFrequencyMinutes'
        ExcludedFileTypes               = Read-Property $Group 'ProtectionGroups' 'ExcludedFileTypes'
    }
}

function ConvertTo-DatasourceRecord {
    param($Datasource)
    [ordered]@{
        DatasourceId             = Read-Property $Datasource 'Datasources' 'DatasourceId'
        Name                     = Read-Property $Datasource 'Datasources' 'Name'
        LogicalPath              = Read-Property $Datasource 'Datasources' 'LogicalPath'
        Computer                 = Read-Property $Datasource 'Datasources' 'Computer'
        ProductionServerName     = Read-Property $Datasource 'Datasources' 'ProductionServerName'
        ObjectType               = Read-Property $Datasource 'Datasources' 'ObjectType'
        ProtectionGroupName      = Read-Property $Datasource 'Datasources' 'ProtectionGroupName'
        Protected                = Read-Property $Datasource 'Datasources' 'Protected'
        ProtectionType           = Read-Property $Datasource 'Datasources' 'ProtectionType'
        SourceDPMServer          = Read-Property $Datasource 'Datasources' 'SourceDPMServer'
        InactiveProtectionStatus = Read-Property $Datasource 'Datasources' 'InactiveProtectionStatus'
    }
}

function ConvertTo-LibraryRecord {
    param($Library)
    [ordered]@{
        UserFriendlyName = Read-Property $Library 'Libraries' 'UserFriendlyName'
        ProductId        = Read-Property $Library 'Libraries' 'ProductId'
        SerialNumber     = Read-Property $Library 'Libraries' 'SerialNumber'
    }
}

function ConvertTo-DatasourceRecords {
    <# Data sources with a progress bar: a large DPM server has thousands. #>
    param([object[]] $Datasources, [string] $Activity)
    $total = $Datasources.Count
    $index = 0
    foreach ($datasource in $Datasources) {
        $index++
        if ($index % 50 -eq 1 -or $index -eq $total) {
            Write-Progress -Activity $Activity -Status ('{0} of {1}' -f $index, $total) -PercentComplete ([int](100 * $index / [math]::Max(1, $total)))
        }
        ConvertTo-DatasourceRecord -Datasource $datasource
    }
    Write-Progress -Activity $Activity -Completed
}

function Write-Export {
    <# UTF-8 without a byte order mark, written under a temporary name and then renamed, so a
       stopped export never leaves a partial file under the final name. #>
    param($Export, [string] $Path)
    $json = ConvertTo-Json -InputObject $Export -Depth 8
    $full = [System.IO.Path]::GetFullPath($Path)
    $temporary = $full + '.partial'
    [System.IO.File]::WriteAllText($temporary, $json, (New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false))
    Move-Item -LiteralPath $temporary -Destination $full -Force
    return $full
}

# -- main ------------------------------------------------------------------------------------------

Import-Module -Name DataProtectionManager -ErrorAction Stop
$dpmName = $env:COMPUTERNAME
$server = Connect-DPMServer -DPMServerName $dpmName
try {
    Write-Progress -Activity 'Export-DpmTopology' -Status 'DPM server'
    $serverRecord = Get-DpmServerRecord -Server $server

    Write-Progress -Activity 'Export-DpmTopology' -Status 'Protected servers'
    $productionServers = Invoke-Section 'ProductionServers' {
        foreach ($ps in @(Get-DPMProductionServer -DPMServerName $dpmName)) { ConvertTo-ProductionServerRecord -ProductionServer $ps }
    }

    Write-Progress -Activity 'Export-DpmTopology' -Status 'Protection groups'
    $groups = Invoke-Section 'ProtectionGroups' {
        foreach ($pg in @(Get-DPMProtectionGroup -DPMServerName $dpmName)) { ConvertTo-ProtectionGroupRecord -Group $pg }
    }

    Write-Progress -Activity 'Export-DpmTopology' -Status 'Data sources'
    $datasources = Invoke-Section 'Datasources' {
        ConvertTo-DatasourceRecords -Datasources @(Get-DPMDatasource -DPMServerName $dpmName) -Activity 'Data sources'
    }

    Write-Progress -Activity 'Export-DpmTopology' -Status 'Inactive data sources'
    $inactive = Invoke-Section 'InactiveDatasources' {
        ConvertTo-DatasourceRecords -Datasources @(Get-DPMDatasource -DPMServerName $dpmName -Inactive) -Activity 'Inactive data sources'
    }

    Write-Progress -Activity 'Export-DpmTopology' -Status 'Tape libraries'
    $libraries = Invoke-Section 'Libraries' {
        foreach ($library in @(Get-DPMLibrary -DPMServerName $dpmName)) { ConvertTo-LibraryRecord -Library $library }
    }
}
finally {
    Disconnect-DPMServer -DPMServerName $dpmName
    Write-Progress -Activity 'Export-DpmTopology' -Completed
}

$export = [ordered]@{
    dpmsmtExport        = 1
    exportedAt          = (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
    collector           = $script:CollectorVersion
    DpmServer           = $serverRecord
    ProductionServers   = @($productionServers)
    ProtectionGroups    = @($groups)
    Datasources         = @($datasources)
    InactiveDatasources = @($inactive)
    Libraries           = @($libraries)
    MissingProperties   = @($script:Missing)
    Errors              = @($script:Errors)
}
$written = Write-Export -Export $export -Path $OutputPath
Write-Host ('Exported {0}: {1} protected servers, {2} data sources, {3} inactive -> {4}' -f $dpmName, @($productionServers).Count, @($datasources).Count, @($inactive).Count, $written)
if ($script:Missing.Count -gt 0) {
    Write-Warning ('Properties this DPM version does not have: {0}' -f (@($script:Missing) -join ', '))
}
foreach ($problem in $script:Errors) {
    Write-Warning ('Section {0} could not be read: {1}' -f $problem.Section, $problem.Message)
}
